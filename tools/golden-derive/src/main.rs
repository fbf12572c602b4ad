fn main() -> std::process::ExitCode {
    golden::cli::main(golden_derive::command(), golden_derive::run)
}
