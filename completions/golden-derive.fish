complete -c golden-derive -l count -d 'Make N clones of each template, named by --name' -r
complete -c golden-derive -l name -d 'Name pattern for --count: {template}, {project}, {n} (first free numbers)' -r
complete -c golden-derive -s p -l project -d 'The template\'s project (default: found across all projects)' -r
complete -c golden-derive -l target-project -d 'Create the clones in this project (default: the template\'s)' -r
complete -c golden-derive -l target -d 'Cluster member for the clones (default: the template\'s, which keeps them CoW)' -r
complete -c golden-derive -s s -l storage -d 'Storage pool for the clones (default: the template\'s, which allows CoW)' -r
complete -c golden-derive -s j -l jobs -d 'Copies run at once' -r
complete -c golden-derive -s c -l config -d 'Config for the clones (repeatable)' -r
complete -c golden-derive -l profile -d 'Profiles for the clones instead of the template\'s (repeatable)' -r
complete -c golden-derive -l ipv4 -d 'Static IPv4 address for the clone (one clone), or `auto`: the next free one of its network' -r
complete -c golden-derive -l volumes -d 'What to do with custom volumes attached to the template' -r -f -a "copy\t'Copy each volume\'s pristine snapshot to a new volume of the clone\'s own'
share\t'Keep the template\'s volumes attached to every clone (shared data)'
drop\t'Remove the volume devices from the clones'"
complete -c golden-derive -s f -l format -d 'Output format [default: table on a terminal, tsv otherwise]' -r -f -a "table\t'Aligned columns, for people (default on a terminal)'
tsv\t'Tab-separated values with a header line (default in a pipe)'
json\t'Newline-delimited JSON, one object a line'"
complete -c golden-derive -s o -l output -d 'Comma-separated columns to print, in this order' -r
complete -c golden-derive -l spread -d 'Deal the clones round-robin over the cluster members that are online and have the pool'
complete -c golden-derive -l start -d 'Start each clone once made'
complete -c golden-derive -l skip-existing -d 'A NEW name that exists and came from this template is reported, not an error'
complete -c golden-derive -l dhcp -d 'Drop the template\'s static addresses from the clones'
complete -c golden-derive -l keep-identity -d 'Keep the template\'s machine-id, SSH host keys, hostname, leases and seed in the clones'
complete -c golden-derive -l fail-fast -d 'Stop at the first failure (default: go on with the other records)'
complete -c golden-derive -s n -l dry-run -d 'Print what would be done; change nothing'
complete -c golden-derive -s q -l quiet -d 'Print no notices or progress on stderr (errors still go there)'
complete -c golden-derive -s H -l no-header -d 'Print no header line (table and tsv)'
complete -c golden-derive -s h -l help -d 'Print help (see more with \'--help\')'
complete -c golden-derive -s V -l version -d 'Print version'
