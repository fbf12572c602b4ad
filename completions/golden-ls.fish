complete -c golden-ls -s p -l project -d 'Only this Incus project (default: all projects); with --clones, the clones\' project' -r
complete -c golden-ls -s f -l format -d 'Output format [default: table on a terminal, tsv otherwise]' -r -f -a "table\t'Aligned columns, for people (default on a terminal)'
tsv\t'Tab-separated values with a header line (default in a pipe)'
json\t'Newline-delimited JSON, one object a line'"
complete -c golden-ls -s o -l output -d 'Comma-separated columns to print, in this order' -r
complete -c golden-ls -l clones -d 'One record per derived instance (of the NAMEd goldens, or of all): its template, pristine and whether stale'
complete -c golden-ls -l kept -d 'One record per thing the tools keep (pre-refresh copies, refresh images): of the NAMEd goldens, or of all'
complete -c golden-ls -s H -l no-header -d 'Print no header line (table and tsv)'
complete -c golden-ls -s h -l help -d 'Print help (see more with \'--help\')'
complete -c golden-ls -s V -l version -d 'Print version'
