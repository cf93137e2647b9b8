" Vim syntax file
" Language:    specc (typed configuration for unikernels; docs/language.md)
" Filenames:   *.spec
" Maintainer:  the specc project (editors/vim/syntax/spec.vim)
"
" Vim and Neovim already give `*.spec` files the filetype `spec`, which they
" also use for RPM spec files.  Syntax files for a filetype are all sourced
" in 'runtimepath' order, so this one, installed in your own runtime
" directory, runs before Vim's RPM one: for a buffer that looks like an RPM
" spec it stops early and leaves it to Vim's; otherwise it sets
" b:current_syntax and the RPM one stands aside.
" Keep the keyword lists in step with specc/syntax/lexer.py (KEYWORDS);
" tests/test_lsp_editors.py checks them.

if exists("b:current_syntax")
  finish
endif

if search('\v^%(Name|Version|Release|Summary|License|BuildRequires)\s*:', 'nw') > 0
      \ || search('\v^\%%(description|prep|build|install|files|changelog)>', 'nw') > 0
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

syn case match
syn sync minlines=50

" Comments: `##` documents the next declaration, `#` is an ordinary comment.
syn keyword specTodo contained TODO FIXME XXX NOTE
syn match specDocComment "##.*$" contains=specTodo,@Spell
syn match specComment "#\%(#\)\@!.*$" contains=specTodo,@Spell

" Keywords (LANGUAGE.md section 2).
syn keyword specConditional if then else match
syn keyword specRepeat while for in
syn keyword specStatement return break continue
syn keyword specDeclaration use devices main requires impl targets drop when
syn keyword specDeclaration unikernel nextgroup=specDeclName skipwhite
" `config` is a match, not a keyword, so that `config.key` can be seen whole.
syn match specDeclaration "\<config\>"
syn keyword specStructure enum struct interface component fn nextgroup=specDeclName skipwhite
syn keyword specStorage const param let var nextgroup=specBindName skipwhite
syn keyword specOperatorWord and or not as
syn keyword specBoolean true false
syn keyword specConstant none some target

syn match specDeclName contained "\<[A-Za-z_][A-Za-z0-9_]*\>"
syn match specBindName contained "\<[A-Za-z_][A-Za-z0-9_]*\>"

" Types and builtins.
syn keyword specBuiltinType bool u8 u16 u32 u64 i64 string bytes Ipv4 Cidr Duration Size Zone Files Target
syn match specType "\<[A-Z][A-Za-z0-9_]*\>"
syn match specCall "\<[a-z_][A-Za-z0-9_]*\ze\s*("
syn match specMethod "\%(\.\s*\)\@<=[A-Za-z_][A-Za-z0-9_]*\ze\s*("
syn match specEnumValue "\%(\<[A-Z][A-Za-z0-9_]*\s*\.\s*\)\@<=[A-Za-z_][A-Za-z0-9_]*\>"
syn match specBuiltinFunction "\<\%(len\|min\|max\|utf8\|print\|exit\|now\|zonefile\|dir\)\ze\s*("
syn match specConfigKey "\%(\<config\s*\.\s*\)\@<=[A-Za-z_][A-Za-z0-9_]*\>"

" Literals; longest forms first (an address is not four integers).
syn match specNumber "\<\d[0-9_]*\>"
syn match specNumber "\<0x[0-9A-Fa-f_]\+\>"
syn match specNumber "\<0b[01_]\+\>"
syn match specDuration "\<\d[0-9_]*\%(ms\|us\|ns\|s\|m\|h\)\>"
syn match specSize "\<\d[0-9_]*\%(B\|KiB\|MiB\|GiB\)\>"
syn match specAddress "\<\d\+\.\d\+\.\d\+\.\d\+\%(/\d\+\)\=\>"

syn match specEscape contained "\\\%([ntr0\\\"]\|u{\x\{1,6}}\)"
syn match specByteEscape contained "\\\%([ntr0\\\"]\|x\x\x\)"
syn match specBraceEscape contained "{{\|}}"
syn region specInterpolation contained matchgroup=specInterpolationDelimiter
      \ start="{\%({\)\@!" end="}" oneline contains=TOP
syn region specString start=+"+ skip=+\\\\\|\\"+ end=+"\|$+ oneline
      \ contains=specEscape,specBraceEscape,specInterpolation,@Spell
syn region specBytes start=+\<b"+ skip=+\\\\\|\\"+ end=+"\|$+ oneline contains=specByteEscape

syn match specOperator "->\|=>\|??\|\.\.\|==\|!=\|<=\|>=\|<<\|>>\|+=\|-=\|\*=\|[-+*/%<>=|^&?]"

hi def link specTodo                   Todo
hi def link specDocComment             SpecialComment
hi def link specComment                Comment
hi def link specConditional            Conditional
hi def link specRepeat                 Repeat
hi def link specStatement              Statement
hi def link specDeclaration            Keyword
hi def link specStructure              Structure
hi def link specStorage                StorageClass
hi def link specOperatorWord           Operator
hi def link specBoolean                Boolean
hi def link specConstant               Constant
hi def link specDeclName               Function
hi def link specBindName               Identifier
hi def link specBuiltinType            Type
hi def link specType                   Type
hi def link specEnumValue              Constant
hi def link specBuiltinFunction        Function
hi def link specConfigKey              Identifier
hi def link specCall                   Function
hi def link specMethod                 Function
hi def link specNumber                 Number
hi def link specDuration               Number
hi def link specSize                   Number
hi def link specAddress                Number
hi def link specEscape                 SpecialChar
hi def link specByteEscape             SpecialChar
hi def link specBraceEscape            SpecialChar
hi def link specInterpolationDelimiter Delimiter
hi def link specString                 String
hi def link specBytes                  String
hi def link specOperator               Operator

let b:current_syntax = "spec"

let &cpo = s:cpo_save
unlet s:cpo_save
