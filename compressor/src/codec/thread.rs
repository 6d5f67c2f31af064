//! Decoders whose state cannot move between threads run on a thread of their own and hand
//! their output over a bounded channel, so memory stays bounded and the reader is `Send`.

use std::io::{self, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{sync_channel, Receiver};

use super::guard::message;
use super::Reader;

const PIECE: usize = 256 * 1024;
/// Pieces decoded ahead of the reader.
const AHEAD: usize = 4;

/// Runs the reader that `make` builds on a new thread; the returned reader yields its bytes.
/// An error or a panic there comes out of `read` as an error.
pub fn read_on_thread<R: Read>(
    make: impl FnOnce() -> io::Result<R> + Send + 'static,
) -> io::Result<Reader<'static>> {
    let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(AHEAD);
    std::thread::Builder::new()
        .name("trove-decode".into())
        .spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(|| {
                let mut reader = make()?;
                loop {
                    let mut piece = vec![0u8; PIECE];
                    let n = match reader.read(&mut piece) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        other => other?,
                    };
                    piece.truncate(n);
                    // An empty piece marks the end; a closed channel means the reader went away.
                    if tx.send(Ok(piece)).is_err() || n == 0 {
                        return Ok(());
                    }
                }
            }));
            let failure = match result {
                Ok(Ok(())) => return,
                Ok(Err(e)) => e,
                Err(p) => io::Error::other(format!("the decoder panicked: {}", message(&*p))),
            };
            let _ = tx.send(Err(failure));
        })?;
    Ok(Box::new(ChannelReader {
        rx,
        piece: Vec::new(),
        served: 0,
        ended: false,
    }))
}

struct ChannelReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    piece: Vec<u8>,
    served: usize,
    ended: bool,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.served == self.piece.len() && !self.ended {
            match self.rx.recv() {
                Ok(Ok(piece)) => {
                    self.ended = piece.is_empty();
                    self.piece = piece;
                    self.served = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(io::Error::other("the decoder thread ended early")),
            }
        }
        let n = buf.len().min(self.piece.len() - self.served);
        buf[..n].copy_from_slice(&self.piece[self.served..self.served + n]);
        self.served += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_bytes_errors_and_panics_through() {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| i as u8).collect();
        let copy = data.clone();
        let mut out = Vec::new();
        read_on_thread(move || Ok(io::Cursor::new(copy)))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
        let failing = read_on_thread(|| Err::<io::Empty, _>(io::Error::other("bad stored form")));
        let err = failing.unwrap().read_to_end(&mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("bad stored form"));
        let panicking = read_on_thread(|| -> io::Result<io::Empty> { panic!("library bug") });
        let err = panicking.unwrap().read_to_end(&mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("library bug"), "{err}");
    }
}
