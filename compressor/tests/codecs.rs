//! Round-trip properties of every codec, and an in-process fuzz loop over each of them.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use support::*;
use trove_compressor::codec::{Codec, Deflate, DeflateKind, Lepton, Registry, Zstd};
use trove_compressor::store::FsStore;

fn codecs() -> Vec<Box<dyn Codec>> {
    let mut all: Vec<Box<dyn Codec>> = vec![Box::new(Lepton), Box::new(Zstd::new(3))];
    for kind in DeflateKind::ALL {
        all.push(Box::new(Deflate::new(kind, 3)));
    }
    all
}

fn deflate(kind: DeflateKind) -> Deflate {
    Deflate::new(kind, 3)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_codec_gives_back_any_bytes_it_accepts(data in proptest::collection::vec(any::<u8>(), 0..3000)) {
        for codec in codecs() {
            round_trip(codec.as_ref(), &data);
        }
    }

    #[test]
    fn deflate_containers_round_trip(
        len in 0usize..40_000,
        seed in any::<u64>(),
        level in 0u32..=9,
        split in 1usize..5000,
    ) {
        let content = text(len, seed);
        for (kind, input) in [
            (DeflateKind::Png, png(&content, level, split)),
            (DeflateKind::Gzip, gzip(&content, level)),
            (DeflateKind::Zip, zip(&content, level)),
            (DeflateKind::Pdf, pdf(&content, level)),
        ] {
            prop_assert!(round_trip(&deflate(kind), &input).is_some(), "{kind:?} refused");
        }
    }

    #[test]
    fn zstd_round_trips_text(len in 0usize..200_000, seed in any::<u64>()) {
        prop_assert!(round_trip(&Zstd::new(3), &text(len, seed)).is_some());
    }
}

#[test]
fn deflate_streams_become_smaller_than_zlib_made_them() {
    // Repeats further apart than deflate's 32 KiB window, which zstd's window covers.
    let content = text(40_000, 7).repeat(8);
    for (kind, input) in [
        (DeflateKind::Png, png(&content, 6, 8192)),
        (DeflateKind::Gzip, gzip(&content, 6)),
        (DeflateKind::Zip, zip(&content, 9)),
        (DeflateKind::Pdf, pdf(&content, 6)),
    ] {
        let stored = round_trip(&deflate(kind), &input).unwrap();

        assert!(
            stored.len() < input.len() / 2,
            "{kind:?}: {} vs {}",
            stored.len(),
            input.len()
        );
    }
}

#[test]
fn png_photographs_shrink_well_below_zlib_level_9() {
    // zstd over the plain text does not beat zlib here; the pixel model must.
    let input = png_photo(640, 400, 11);
    let stored = round_trip(&deflate(DeflateKind::Png), &input).unwrap();
    assert!(
        stored.len() < input.len() * 92 / 100,
        "{} vs {}",
        stored.len(),
        input.len()
    );
}

#[test]
fn lepton_shrinks_real_jpegs() {
    for jpeg in JPEGS {
        let stored = round_trip(&Lepton, jpeg).expect("lepton accepts a baseline JPEG");
        assert!(
            stored.len() < jpeg.len(),
            "{} vs {}",
            stored.len(),
            jpeg.len()
        );
    }
}

/// One mutation of `input`: flipped bytes, a cut, an insertion or a random overwrite.
fn mutate(rng: &mut XorShift, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    match rng.below(4) {
        0 if !out.is_empty() => {
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(out.len());
                out[at] ^= 1 << rng.below(8);
            }
        }
        1 => out.truncate(rng.below(out.len() + 1)),
        2 => {
            let at = rng.below(out.len() + 1);
            let len = 1 + rng.below(64);
            let extra = rng.bytes(len);
            out.splice(at..at, extra);
        }
        _ if !out.is_empty() => {
            let at = rng.below(out.len());
            let end = (at + 1 + rng.below(256)).min(out.len());
            let noise = rng.bytes(end - at);
            out[at..end].copy_from_slice(&noise);
        }
        _ => {
            let len = rng.below(512);
            out = rng.bytes(len);
        }
    }
    out
}

/// Stores `input` with `codec` then raw as the only choices (see [`store_and_read`]);
/// returns the stored form when `codec` won.
fn ingest(store: &FsStore, codec: &Arc<dyn Codec>, input: &[u8]) -> Option<Vec<u8>> {
    let registry = Registry::with_codecs(vec![Arc::clone(codec)]);
    let (chosen, form) = store_and_read(store, &registry, input);
    (chosen == codec.name()).then_some(form)
}

/// For a bounded time per codec, random and mutated inputs go through the service's ingest
/// (encode, verifying decode, fallback to raw): what is kept must read back exactly, and a
/// codec library that panics or decodes wrongly must only cost the fallback. Mutated stored
/// forms must decode to an error or some bytes, never a panic or a hang. Seed with
/// TROVE_FUZZ_SEED to replay a run.
#[test]
fn fuzz_every_codec() {
    let seed = std::env::var("TROVE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("fuzz seed {seed} (set TROVE_FUZZ_SEED to replay)");
    let mut rng = XorShift(seed | 1);
    // Repeats beyond deflate's window, so that re-compression pays and the codecs win.
    let content = text(36_000, seed).repeat(2);
    let seeds: Vec<Vec<u8>> = vec![
        JPEGS[0].to_vec(),
        JPEGS[1].to_vec(),
        png(&content, 6, 3000),
        gzip(&content, 9),
        zip(&content, 1),
        pdf(&content, 6),
        content.clone(),
    ];
    let root = tempfile::tempdir().unwrap();
    let store = FsStore::open(root.path()).unwrap();
    let budget = Duration::from_millis(2500);
    for codec in codecs() {
        let codec: Arc<dyn Codec> = Arc::from(codec);
        let started = Instant::now();
        let (mut runs, mut won) = (0, 0);
        while started.elapsed() < budget {
            let input = match rng.below(4) {
                0 => {
                    let len = rng.below(4096);
                    rng.bytes(len)
                }
                _ => {
                    let base = &seeds[rng.below(seeds.len())];
                    mutate(&mut rng, base)
                }
            };
            if let Some(stored) = ingest(&store, &codec, &input) {
                won += 1;
                let damaged = mutate(&mut rng, &stored);
                let _ = decode(codec.as_ref(), damaged);
            }
            runs += 1;
        }
        eprintln!("{}: {runs} inputs, {won} stored with it", codec.name());
        assert!(runs > 10, "{} is too slow to fuzz", codec.name());
    }
}

#[test]
fn lepton_judges_its_decode_memory_from_the_stored_header() {
    let stored = |jpeg: &[u8]| round_trip(&Lepton, jpeg).expect("lepton accepts the fixture");
    let progressive = include_bytes!("fixtures/hopper-progressive.jpg");
    let (hopper, alien, hopper_progressive) =
        (stored(JPEGS[0]), stored(JPEGS[1]), stored(progressive));
    let memory = |stored: &[u8]| Lepton.decode_memory(stored);
    // Baseline images need two bytes per pixel over the same base, progressive ones fourteen.
    assert_eq!(memory(&hopper) - memory(&alien), 2 * (128 * 128 - 71 * 80));
    assert_eq!(
        memory(&hopper_progressive) - memory(&hopper),
        12 * 128 * 128
    );
    // A head that cannot be read counts as the largest image Lepton accepts.
    let unknown = memory(b"not a lepton file");
    assert!(unknown > memory(&hopper_progressive) + (1 << 30));
    assert_eq!(memory(&hopper[..40]), unknown);
}
