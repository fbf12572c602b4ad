complete --keep-order --exclusive --command golden-identity --arguments "(COMPLETE=fish golden-identity -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
