complete -c golden-identity -s p -l project -d 'The Incus project (default: all projects)' -r
complete -c golden-identity -l timeout -d 'Seconds to wait for a clean stop before giving up (at least 1)' -r
complete -c golden-identity -s f -l format -d 'Output format [default: table on a terminal, tsv otherwise]' -r -f -a "table\t'Aligned columns, for people (default on a terminal)'
tsv\t'Tab-separated values with a header line (default in a pipe)'
json\t'Newline-delimited JSON, one object a line'"
complete -c golden-identity -s o -l output -d 'Comma-separated columns to print, in this order' -r
complete -c golden-identity -l shared -d 'Only the containers that share an identity with another instance'
complete -c golden-identity -l renew -d 'Give each NAMEd container an identity of its own (restarts it if it runs)'
complete -c golden-identity -l force -d 'Kill the instance instead of a clean stop'
complete -c golden-identity -l fail-fast -d 'Stop at the first failure (default: go on with the other records)'
complete -c golden-identity -s n -l dry-run -d 'Print what would be done; change nothing'
complete -c golden-identity -s q -l quiet -d 'Print no notices or progress on stderr (errors still go there)'
complete -c golden-identity -s H -l no-header -d 'Print no header line (table and tsv)'
complete -c golden-identity -s h -l help -d 'Print help (see more with \'--help\')'
complete -c golden-identity -s V -l version -d 'Print version'
