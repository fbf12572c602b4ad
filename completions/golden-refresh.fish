complete --keep-order --exclusive --command golden-refresh --arguments "(COMPLETE=fish golden-refresh -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
