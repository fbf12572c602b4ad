
_golden_complete_golden_retire() {
    local IFS=$'\013'
    local _CLAP_COMPLETE_SPACE=true
    if compopt +o nospace 2> /dev/null; then
        _CLAP_COMPLETE_SPACE=false
    fi
    # bash splits words at COMP_WORDBREAKS (':' and '=' among them): join the
    # pieces of each word again, up to the cursor, so that remote:instance
    # and --option=value reach the completer whole.
    local words=() cword=-1 rest=${COMP_LINE:0:COMP_POINT} i piece trimmed
    for ((i = 0; i <= COMP_CWORD; i++)); do
        trimmed=${rest#"${rest%%[![:space:]]*}"}
        piece=${COMP_WORDS[i]}
        if [[ $i -eq $COMP_CWORD ]]; then
            # The word under the cursor, up to it (after a ':' bash gives
            # the ':' as this word and an empty $2).
            piece=$trimmed
        fi
        if [[ $cword -lt 0 || $trimmed != "$rest" ]]; then
            cword=$((cword + 1))
            words[cword]=$piece
        else
            words[cword]+=$piece
        fi
        rest=${trimmed:${#piece}}
    done
    # What precedes, in the joined word, the piece bash will replace.
    local before=${words[cword]%"$2"}
    COMPREPLY=( $( \
        _CLAP_IFS="$IFS" \
        _CLAP_COMPLETE_INDEX="$cword" \
        _CLAP_COMPLETE_COMP_TYPE="${COMP_TYPE}" \
        _CLAP_COMPLETE_SPACE="$_CLAP_COMPLETE_SPACE" \
        COMPLETE="bash" \
        golden-retire -- "${words[@]}" \
    ) )
    if [[ $? != 0 ]]; then
        unset COMPREPLY
        return
    fi
    if [[ -n $before ]]; then
        COMPREPLY=("${COMPREPLY[@]#"$before"}")
    fi
    if [[ $_CLAP_COMPLETE_SPACE == false ]] && [[ "${COMPREPLY-}" =~ [=/:]$ ]]; then
        compopt -o nospace
    fi
}
if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -o nospace -o bashdefault -o nosort -F _golden_complete_golden_retire golden-retire
else
    complete -o nospace -o bashdefault -F _golden_complete_golden_retire golden-retire
fi

