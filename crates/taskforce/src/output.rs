//! Standard output for machine output: a reader that has gone away (a
//! closed pipe, as `taskforce … | head` leaves) ends the process quietly
//! with exit 0, as it would end a Unix filter, instead of the panic of
//! `println!` or an error message about a pipe nobody reads.

use std::io::Write;

/// Writes `args` and a newline to standard output.
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(format_args!("{args}\n")).and_then(|()| out.flush()) {
        gone(&e);
    }
}

/// Writes `text` to standard output as it is.
pub fn text(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        gone(&e);
    }
}

/// After a failed write to standard output: a closed pipe ends the process
/// (exit 0: the reader asked for no more); any other failure is said on
/// standard error once and ends it with exit 1.
fn gone(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: cannot write to standard output: {e}");
    std::process::exit(1);
}

/// Whether `e` is a command's own write into a closed pipe (an I/O error
/// passed up as it is by `?`; a store's broken connection is a store error,
/// never this).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// `println!` for machine output, through [`line`].
macro_rules! out {
    () => { $crate::output::text("\n") };
    ($($t:tt)*) => { $crate::output::line(format_args!($($t)*)) };
}
