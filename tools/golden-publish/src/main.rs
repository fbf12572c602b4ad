fn main() -> std::process::ExitCode {
    golden::cli::main(golden_publish::command(), golden_publish::run)
}
