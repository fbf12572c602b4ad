complete --keep-order --exclusive --command golden-ls --arguments "(COMPLETE=fish golden-ls -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
