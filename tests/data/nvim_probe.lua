-- Driven by tests/test_editors_nvim.py: open SPEC_FILE with the set-up of
-- editors/nvim, wait for specc's diagnostics, ask for a hover, write what was
-- seen to SPEC_OUT as lines "diagnostic CODE LINE", "hover TEXT", then quit.
local out = {}
local function finish(status)
  local handle = io.open(os.getenv("SPEC_OUT"), "w")
  handle:write(table.concat(out, "\n") .. "\n")
  handle:close()
  vim.cmd(status == 0 and "qall!" or "cquit!")
end

vim.opt.runtimepath:append(os.getenv("SPEC_EDITORS") .. "/nvim")
vim.cmd("filetype on")
require("specc").setup({ cmd = { os.getenv("SPEC_PYTHON"), "-m", "specc", "lsp" }, target = "unix" })
vim.cmd("edit " .. vim.fn.fnameescape(os.getenv("SPEC_FILE")))
local bufnr = vim.api.nvim_get_current_buf()
table.insert(out, "version " .. tostring(vim.version().major) .. "." .. tostring(vim.version().minor))
table.insert(out, "filetype " .. vim.bo[bufnr].filetype)

local ok = vim.wait(20000, function() return #vim.diagnostic.get(bufnr) > 0 end, 50)
if not ok then
  table.insert(out, "no diagnostics")
  finish(1)
  return
end
for _, d in ipairs(vim.diagnostic.get(bufnr)) do
  table.insert(out, "diagnostic " .. tostring(d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code)) .. " " .. tostring(d.lnum + 1))
end

local line = tonumber(os.getenv("SPEC_HOVER_LINE")) - 1
local column = tonumber(os.getenv("SPEC_HOVER_COLUMN")) - 1
local params = { textDocument = { uri = vim.uri_from_bufnr(bufnr) }, position = { line = line, character = column } }
local results = vim.lsp.buf_request_sync(bufnr, "textDocument/hover", params, 10000) or {}
for _, result in pairs(results) do
  local contents = result.result and result.result.contents
  if contents ~= nil then
    local text = type(contents) == "table" and (contents.value or contents[1]) or contents
    local flat = tostring(text):gsub("\n", " | ")
    table.insert(out, "hover " .. flat)
  end
end
finish(0)
