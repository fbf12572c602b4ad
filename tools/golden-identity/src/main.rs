fn main() -> std::process::ExitCode {
    golden::cli::main(golden_identity::command(), golden_identity::run)
}
