complete --keep-order --exclusive --command golden-retire --arguments "(COMPLETE=fish golden-retire -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
