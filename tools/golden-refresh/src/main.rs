fn main() -> std::process::ExitCode {
    golden::cli::main(golden_refresh::command(), golden_refresh::run)
}
