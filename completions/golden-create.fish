complete -c golden-create -s p -l project -d 'The Incus project (default: found across all projects)' -r
complete -c golden-create -l timeout -d 'Seconds to wait for a clean stop before giving up (at least 1)' -r
complete -c golden-create -s f -l format -d 'Output format [default: table on a terminal, tsv otherwise]' -r -f -a "table\t'Aligned columns, for people (default on a terminal)'
tsv\t'Tab-separated values with a header line (default in a pipe)'
json\t'Newline-delimited JSON, one object a line'"
complete -c golden-create -s o -l output -d 'Comma-separated columns to print, in this order' -r
complete -c golden-create -l force -d 'Kill the instance instead of a clean stop'
complete -c golden-create -l restart -d 'Start the instance again afterwards if it was running'
complete -c golden-create -l fail-fast -d 'Stop at the first failure (default: go on with the other records)'
complete -c golden-create -s n -l dry-run -d 'Print what would be done; change nothing'
complete -c golden-create -s q -l quiet -d 'Print no notices or progress on stderr (errors still go there)'
complete -c golden-create -s H -l no-header -d 'Print no header line (table and tsv)'
complete -c golden-create -s h -l help -d 'Print help (see more with \'--help\')'
complete -c golden-create -s V -l version -d 'Print version'
