complete -c golden-refresh -s p -l project -d 'The Incus project (default: found across all projects)' -r
complete -c golden-refresh -l timeout -d 'Seconds to wait for a clean stop before giving up (at least 1)' -r
complete -c golden-refresh -s j -l jobs -d 'Clones refreshed at once' -r
complete -c golden-refresh -s f -l format -d 'Output format [default: table on a terminal, tsv otherwise]' -r -f -a "table\t'Aligned columns, for people (default on a terminal)'
tsv\t'Tab-separated values with a header line (default in a pipe)'
json\t'Newline-delimited JSON, one object a line'"
complete -c golden-refresh -s o -l output -d 'Comma-separated columns to print, in this order' -r
complete -c golden-refresh -l force -d 'Kill the instance instead of a clean stop'
complete -c golden-refresh -l again -d 'Refresh clones that are up to date too'
complete -c golden-refresh -l new-identity -d 'Give each clone a new identity instead of carrying its own'
complete -c golden-refresh -l no-keep -d 'Remove the pre-refresh copy once the clone is refreshed'
complete -c golden-refresh -l restore -d 'Put each CLONE back as it was before its last refresh, from CLONE-pre-refresh (the refreshed state is removed)'
complete -c golden-refresh -l discard -d 'Remove each CLONE\'s pre-refresh copy (refused while it holds snapshots), and the refresh images no clone needs any more'
complete -c golden-refresh -l fail-fast -d 'Stop at the first failure (default: go on with the other records)'
complete -c golden-refresh -s n -l dry-run -d 'Print what would be done; change nothing'
complete -c golden-refresh -s q -l quiet -d 'Print no notices or progress on stderr (errors still go there)'
complete -c golden-refresh -s H -l no-header -d 'Print no header line (table and tsv)'
complete -c golden-refresh -s h -l help -d 'Print help (see more with \'--help\')'
complete -c golden-refresh -s V -l version -d 'Print version'
