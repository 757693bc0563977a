fn main() -> std::process::ExitCode {
    // Past a file size limit (RLIMIT_FSIZE), the write that crosses it then fails with EFBIG
    // and simcash reports it with the file's name and leaves the dataset as it was, instead
    // of the kernel killing the process mid-file with SIGXFSZ.
    // SAFETY: called first, before any thread exists; SIG_IGN installs no handler code.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    simcash::cli::main()
}
