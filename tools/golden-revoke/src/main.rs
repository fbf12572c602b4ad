fn main() -> std::process::ExitCode {
    golden::cli::main(golden_revoke::command(), golden_revoke::run)
}
