"""The front end's syntax: tokenizer, grammar driver and AST builder."""
