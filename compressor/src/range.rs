//! Single byte-range requests (RFC 9110 §14).

use axum::http::HeaderValue;

use crate::error::ApiError;

/// A half-open span `[start, end)` of a blob's original bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

impl ByteRange {
    pub fn full(size: u64) -> Self {
        Self {
            start: 0,
            end: size,
        }
    }

    pub fn length(&self) -> u64 {
        self.end - self.start
    }

    /// The `Content-Range` value for this span of a blob of `size` bytes.
    pub fn content_range(&self, size: u64) -> String {
        format!("bytes {}-{}/{}", self.start, self.end - 1, size)
    }
}

/// Interprets a `Range` header for a blob of `size` bytes.
///
/// `Ok(None)` means "send everything": no header, another unit, several ranges or a malformed
/// one (which RFC 9110 says to ignore). A well-formed range that starts past the end is 416.
pub fn parse(header: Option<&HeaderValue>, size: u64) -> Result<Option<ByteRange>, ApiError> {
    let Some(spec) = header
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.trim().strip_prefix("bytes="))
    else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let unsatisfiable = Err(ApiError::RangeNotSatisfiable { size });
    match (first.trim(), last.trim()) {
        ("", suffix) => match number(suffix) {
            None => Ok(None),
            Some(0) => unsatisfiable,
            Some(_) if size == 0 => unsatisfiable,
            Some(n) => Ok(Some(ByteRange {
                start: size - n.min(size),
                end: size,
            })),
        },
        (first, last) => {
            let Some(start) = number(first) else {
                return Ok(None);
            };
            let end = match last {
                "" => size,
                last => match number(last) {
                    Some(l) if l >= start => l.saturating_add(1).min(size),
                    _ => return Ok(None),
                },
            };
            if start >= size {
                return unsatisfiable;
            }
            Ok(Some(ByteRange { start, end }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(value: &str, size: u64) -> Result<Option<(u64, u64)>, u16> {
        parse(Some(&HeaderValue::from_str(value).unwrap()), size)
            .map(|r| r.map(|r| (r.start, r.end)))
            .map_err(|e| e.status().as_u16())
    }

    #[test]
    fn satisfiable_forms() {
        assert_eq!(p("bytes=0-9", 100), Ok(Some((0, 10))));
        assert_eq!(p("bytes=90-", 100), Ok(Some((90, 100))));
        assert_eq!(p("bytes=95-200", 100), Ok(Some((95, 100))));
        assert_eq!(p("bytes=-10", 100), Ok(Some((90, 100))));
        assert_eq!(p("bytes=-1000", 100), Ok(Some((0, 100))));
        assert_eq!(p("bytes=99-99", 100), Ok(Some((99, 100))));
    }

    #[test]
    fn unsatisfiable_forms() {
        assert_eq!(p("bytes=100-", 100), Err(416));
        assert_eq!(p("bytes=100-200", 100), Err(416));
        assert_eq!(p("bytes=-0", 100), Err(416));
        assert_eq!(p("bytes=0-", 0), Err(416));
        assert_eq!(p("bytes=-5", 0), Err(416));
    }

    #[test]
    fn ignored_forms_serve_everything() {
        assert_eq!(parse(None, 100).unwrap(), None);
        for value in [
            "items=0-1",
            "bytes=0-1,5-6",
            "bytes=5-1",
            "bytes=x-",
            "bytes=-",
            "bytes=1",
        ] {
            assert_eq!(p(value, 100), Ok(None), "{value}");
        }
    }

    #[test]
    fn content_range_is_inclusive() {
        let r = ByteRange { start: 2, end: 5 };
        assert_eq!(r.length(), 3);
        assert_eq!(r.content_range(10), "bytes 2-4/10");
        assert_eq!(ByteRange::full(7).length(), 7);
    }
}
