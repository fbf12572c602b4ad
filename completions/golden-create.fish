complete --keep-order --exclusive --command golden-create --arguments "(COMPLETE=fish golden-create -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
