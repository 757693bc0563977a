fn main() -> std::process::ExitCode {
    simcash::cli::main()
}
