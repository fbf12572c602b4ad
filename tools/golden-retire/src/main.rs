fn main() -> std::process::ExitCode {
    golden::cli::main(golden_retire::command(), golden_retire::run)
}
