//! Output helpers the command modules share.
//!
//! Everything the CLI prints goes through [`outln!`]: when the reader has
//! gone (`checkin search … | head`, `| grep -q`), the CLI stops quietly with
//! success, as Unix tools do, instead of panicking on the broken pipe.

use std::io::Write;

/// `println!` that ends the process quietly when stdout was closed.
macro_rules! outln {
    ($($t:tt)*) => {
        $crate::out::write_out(format_args!($($t)*))
    };
}
pub(crate) use outln;

pub(crate) fn write_out(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_fmt(args).and_then(|()| stdout.write_all(b"\n"));
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: could not write the output ({e}): check the disk or the pipe it goes to");
        std::process::exit(1);
    }
}

pub(crate) fn print(json_out: bool, value: serde_json::Value, text: impl FnOnce() -> String) {
    if json_out {
        outln!("{}", serde_json::to_string_pretty(&value).expect("json"));
    } else {
        outln!("{}", text());
    }
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
