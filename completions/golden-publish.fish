complete --keep-order --exclusive --command golden-publish --arguments "(COMPLETE=fish golden-publish -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
