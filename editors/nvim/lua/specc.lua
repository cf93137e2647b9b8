-- specc's language server in Neovim, without plugins.
--
-- Works on Neovim 0.7 (Debian 12 ships 0.7.2: no vim.fs, no vim.lsp.start)
-- and on 0.10 and later.  In init.lua:
--
--   vim.opt.runtimepath:append("/path/to/specc/editors/nvim")
--   require("specc").setup({ cmd = { "specc", "lsp" }, target = "hvt" })
--
-- Neovim gives *.spec files the filetype `spec`, which RPM spec files share;
-- a buffer that looks like an RPM spec is left alone.
local M = {}

local function looks_like_rpm(bufnr)
  for _, line in ipairs(vim.api.nvim_buf_get_lines(bufnr, 0, 60, false)) do
    if line:match("^Name%s*:") or line:match("^Version%s*:") or line:match("^%%description") then
      return true
    end
  end
  return false
end

-- The directory holding `.git` above the file, else the current directory
-- (vim.fn.finddir walks upwards with ";", and exists on every version).
local function root_of(bufnr)
  local dir = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ":p:h")
  local git = vim.fn.finddir(".git", dir .. ";")
  if git ~= "" then
    return vim.fn.fnamemodify(git, ":p:h:h")
  end
  return vim.fn.getcwd()
end

function M.setup(opts)
  opts = opts or {}
  local settings = { specc = { target = opts.target or "hvt" } }
  local clients = {} -- root directory -> client id (for Neovim without vim.lsp.start)
  vim.api.nvim_create_autocmd("FileType", {
    pattern = "spec",
    callback = function(args)
      local bufnr = args.buf
      if looks_like_rpm(bufnr) then
        return
      end
      local root = root_of(bufnr)
      local config = {
        name = "specc",
        cmd = opts.cmd or { "specc", "lsp" },
        root_dir = root,
        init_options = settings.specc,
        settings = settings,
      }
      if vim.lsp.start ~= nil then -- 0.8 and later: one client per root, reused
        vim.lsp.start(config, { bufnr = bufnr })
        return
      end
      local id = clients[root]
      if id == nil or vim.lsp.get_client_by_id(id) == nil then
        id = vim.lsp.start_client(config)
        clients[root] = id
      end
      if id ~= nil then
        vim.lsp.buf_attach_client(bufnr, id)
      end
    end,
  })
end

return M
