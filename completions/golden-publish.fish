complete -c golden-publish -s a -l alias -d 'Alias of the image; {field} is filled from the record (e.g. golden-{instance})' -r
complete -c golden-publish -s p -l project -d 'The Incus project (default: found across all projects)' -r
complete -c golden-publish -l expires -d 'When the image expires: a duration from now (30d, 12h) or an RFC 3339 time' -r
complete -c golden-publish -s f -l format -d 'Output format [default: table on a terminal, tsv otherwise]' -r -f -a "table\t'Aligned columns, for people (default on a terminal)'
tsv\t'Tab-separated values with a header line (default in a pipe)'
json\t'Newline-delimited JSON, one object a line'"
complete -c golden-publish -s o -l output -d 'Comma-separated columns to print, in this order' -r
complete -c golden-publish -l replace -d 'Move an alias that already names an image to the new one'
complete -c golden-publish -l public -d 'Make the image public (others may download it without trust)'
complete -c golden-publish -l fail-fast -d 'Stop at the first failure (default: go on with the other records)'
complete -c golden-publish -s n -l dry-run -d 'Print what would be done; change nothing'
complete -c golden-publish -s q -l quiet -d 'Print no notices or progress on stderr (errors still go there)'
complete -c golden-publish -s H -l no-header -d 'Print no header line (table and tsv)'
complete -c golden-publish -s h -l help -d 'Print help (see more with \'--help\')'
complete -c golden-publish -s V -l version -d 'Print version'
