//! The registration scripts: what `COMPLETE=SHELL golden-ls` prints, and what
//! `make install` installs (xtask writes them into completions/ with
//! [`registration`]). Each only passes the command line to the tool, which
//! answers through clap_complete's engine; two are clap_complete's own
//! (4.6.11's, the version pinned) with fixes for how they are installed and
//! what is completed here:
//!
//! - bash breaks the words of a command line at `:` and `=` too (its
//!   `COMP_WORDBREAKS`): the script joins the pieces of each word again, so
//!   that `lab:we<TAB>` and `--project=la<TAB>` reach the tool whole, and
//!   gives bash back only what follows the piece being completed;
//! - zsh runs a file of its `fpath` (`_golden-ls`, where `make install` puts
//!   it) as the completion function itself, at the first TAB: the script then
//!   completes at once instead of only registering the real function (which
//!   would complete from the second TAB on); and a `REMOTE:` is completed
//!   without the space that would end the word (bash's and fish's scripts
//!   already leave none after a `:`).
//!
//! fish, elvish and PowerShell get clap_complete's scripts unchanged.

use std::ffi::OsString;
use std::io::Write;

use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Shells, Zsh};

/// The shells a tool answers for.
pub(super) const SHELLS: Shells<'static> = Shells(&[
    &Scripted {
        shell: Bash,
        script: BASH,
    },
    &Scripted {
        shell: Zsh,
        script: ZSH,
    },
    &Fish,
    &Elvish,
    &Powershell,
]);

/// The registration script for `shell` (`bash`, `zsh`, `fish`...) of `tool`,
/// calling the tool found on PATH by its name: what `COMPLETE=SHELL tool`
/// prints when run as `tool`. `None` for a shell clap_complete does not know.
pub fn registration(shell: &str, tool: &str) -> Option<Vec<u8>> {
    let shell = SHELLS.completer(shell)?;
    let mut buf = Vec::new();
    shell
        .write_registration(super::VAR, tool, tool, tool, &mut buf)
        .expect("writing to memory");
    Some(buf)
}

/// One of clap_complete's shells, registered with a script of ours (where
/// `NAME`, `BIN`, `COMPLETER` and `VAR` stand for what clap_complete fills
/// in its own); completing is left to the shell's own answer.
struct Scripted<S: 'static> {
    shell: S,
    script: &'static str,
}

impl<S: EnvCompleter> EnvCompleter for Scripted<S> {
    fn name(&self) -> &'static str {
        self.shell.name()
    }

    fn is(&self, name: &str) -> bool {
        self.shell.is(name)
    }

    fn write_registration(
        &self,
        var: &str,
        name: &str,
        bin: &str,
        completer: &str,
        buf: &mut dyn Write,
    ) -> std::io::Result<()> {
        let script = self
            .script
            .replace("NAME", &name.replace('-', "_"))
            .replace("BIN", &shell_quote(bin))
            .replace("COMPLETER", &shell_quote(completer))
            .replace("VAR", var);
        write!(buf, "{script}")
    }

    fn write_complete(
        &self,
        cmd: &mut clap::Command,
        args: Vec<OsString>,
        current_dir: Option<&std::path::Path>,
        buf: &mut dyn Write,
    ) -> std::io::Result<()> {
        self.shell.write_complete(cmd, args, current_dir, buf)
    }
}

/// bash, with the pieces of a word that `COMP_WORDBREAKS` split joined again.
const BASH: &str = r#"
_golden_complete_NAME() {
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
        VAR="bash" \
        COMPLETER -- "${words[@]}" \
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
    complete -o nospace -o bashdefault -o nosort -F _golden_complete_NAME BIN
else
    complete -o nospace -o bashdefault -F _golden_complete_NAME BIN
fi

"#;

/// zsh, completing at once when run from `fpath`, no space after `REMOTE:`.
const ZSH: &str = r#"#compdef BIN
function _clap_dynamic_completer_NAME() {
    local _CLAP_COMPLETE_INDEX=$(expr $CURRENT - 1)
    local _CLAP_IFS=$'\n'

    local completions=("${(@f)$( \
        _CLAP_IFS="$_CLAP_IFS" \
        _CLAP_COMPLETE_INDEX="$_CLAP_COMPLETE_INDEX" \
        VAR="zsh" \
        COMPLETER -- "${words[@]}" 2>/dev/null \
    )}")

    if [[ -n $completions ]]; then
        local -a dirs=()
        local -a remotes=()
        local -a other=()
        local completion
        for completion in $completions; do
            local value="${completion%%:*}"
            if [[ "$completion" == *'\:' || "$completion" == *'\::'* ]]; then
                # A remote (its ':' escaped), before a name: no space after it.
                remotes+=("$completion")
            elif [[ "$value" == */ ]]; then
                local dir_no_slash="${value%/}"
                if [[ "$completion" == *:* ]]; then
                    local desc="${completion#*:}"
                    dirs+=("$dir_no_slash:$desc")
                else
                    dirs+=("$dir_no_slash")
                fi
            else
                other+=("$completion")
            fi
        done
        [[ -n $dirs ]] && _describe -V 'values' dirs -S '/' -r '/'
        [[ -n $remotes ]] && _describe -V 'values' remotes -S ''
        [[ -n $other ]] && _describe -V 'values' other
    fi
}

compdef _clap_dynamic_completer_NAME BIN
# Run from fpath as _BIN, complete now; sourced, only register.
if [[ ${funcstack[1]} = _BIN ]]; then
    _clap_dynamic_completer_NAME "$@"
fi
"#;

/// `text` as one shell word (the tools' names and paths need no quoting;
/// anything else is single-quoted).
fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scripts_call_the_tool_by_its_name() {
        let bash = String::from_utf8(registration("bash", "golden-ls").unwrap()).unwrap();
        assert!(
            bash.contains("COMPLETE=\"bash\" \\\n        golden-ls -- "),
            "{bash}"
        );
        assert!(
            bash.contains("-F _golden_complete_golden_ls golden-ls\n"),
            "{bash}"
        );
        let zsh = String::from_utf8(registration("zsh", "golden-ls").unwrap()).unwrap();
        assert!(zsh.starts_with("#compdef golden-ls\n"), "{zsh}");
        assert!(
            zsh.contains("COMPLETE=\"zsh\" \\\n        golden-ls -- "),
            "{zsh}"
        );
        assert!(zsh.ends_with(
            "if [[ ${funcstack[1]} = _golden-ls ]]; then\n    \
             _clap_dynamic_completer_golden_ls \"$@\"\nfi\n"
        ));
        let fish = String::from_utf8(registration("fish", "golden-ls").unwrap()).unwrap();
        assert!(fish.contains("COMPLETE=fish golden-ls -- "), "{fish}");
        assert!(registration("tcsh", "golden-ls").is_none());
    }

    #[test]
    fn odd_paths_are_quoted() {
        assert_eq!(shell_quote("/usr/bin/golden-ls"), "/usr/bin/golden-ls");
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
    }
}
