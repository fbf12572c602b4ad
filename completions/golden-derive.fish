complete --keep-order --exclusive --command golden-derive --arguments "(COMPLETE=fish golden-derive -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
