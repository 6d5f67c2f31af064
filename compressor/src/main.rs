fn main() {
    trove_compressor::memory::release_large_blocks();
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(trove_compressor::main_with_args(&args));
}
