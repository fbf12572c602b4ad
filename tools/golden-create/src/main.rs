fn main() -> std::process::ExitCode {
    golden::cli::main(golden_create::command(), golden_create::run)
}
