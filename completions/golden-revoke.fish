complete --keep-order --exclusive --command golden-revoke --arguments "(COMPLETE=fish golden-revoke -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
