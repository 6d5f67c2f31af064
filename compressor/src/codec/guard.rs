//! Containment of panics from codec libraries: a panic is a codec failure, never a crash.

use std::any::Any;
use std::io::{self, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::{CodecError, Reader};

pub(super) fn message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// Runs `work`, turning a panic into [`CodecError::Panic`].
pub fn guarded<T>(work: impl FnOnce() -> Result<T, CodecError>) -> Result<T, CodecError> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|p| Err(CodecError::Panic(message(&*p))))
}

/// A reader whose panics become I/O errors; after one it only reports errors.
pub struct Guarded<'a> {
    inner: Reader<'a>,
    poisoned: bool,
}

impl<'a> Guarded<'a> {
    pub fn new(inner: Reader<'a>) -> Self {
        Self {
            inner,
            poisoned: false,
        }
    }
}

impl Read for Guarded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.poisoned {
            return Err(io::Error::other("the decoder panicked earlier"));
        }
        match catch_unwind(AssertUnwindSafe(|| self.inner.read(buf))) {
            Ok(result) => result,
            Err(payload) => {
                self.poisoned = true;
                Err(io::Error::other(format!(
                    "the decoder panicked: {}",
                    message(&*payload)
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Panicky;

    impl Read for Panicky {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            panic!("library bug")
        }
    }

    #[test]
    fn panics_become_errors() {
        let result: Result<(), _> = guarded(|| panic!("boom"));
        assert!(matches!(result, Err(CodecError::Panic(m)) if m == "boom"));
        let mut reader = Guarded::new(Box::new(Panicky));
        let err = reader.read(&mut [0u8; 4]).unwrap_err();
        assert!(err.to_string().contains("library bug"), "{err}");
        assert!(reader.read(&mut [0u8; 4]).is_err());
    }
}
