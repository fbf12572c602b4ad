fn main() -> std::process::ExitCode {
    golden::cli::main(golden_ls::command(), golden_ls::run)
}
