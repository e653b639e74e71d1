// keys: CURVE key pairs and the files that hold them.
//
// Every key is 40 characters of Z85 (32 bytes), as zmq's CURVE socket options take them. A key
// file is text: each key on a line of its own (anything after it on the line, past a blank, is
// a comment), lines whose first non-blank character is '#' are comments, blank lines are
// ignored. Z85's alphabet holds '#' too, so a line is a key when its first word is 40 Z85
// characters; any other line is an error naming the file and line.
//
// - A secret key file holds exactly one key: the server's secret key. It must be a regular
//   file that neither its group nor others can read or write (chmod 600 or 400).
// - An allow-list is a file of public keys, or a directory whose regular files (not starting
//   with '.') are such files. Nobody but the owner may write to either (a world-writable list
//   is a list anyone can add themselves to).
//
// Errors are config_error naming the file (and line). Only this file and authenticator.cpp
// call zmq's CURVE functions.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace zrelay {

inline constexpr std::size_t curve_key_bytes = 32; // a CURVE key, binary
inline constexpr std::size_t z85_key_chars = 40;   // the same in Z85 text

struct curve_keypair {
    std::string public_key; // Z85, 40 characters
    std::string secret_key; // Z85, 40 characters
};

// A new random key pair. Throws std::runtime_error if libzmq was built without CURVE.
[[nodiscard]] curve_keypair generate_curve_keypair();

// Reads a secret key file and derives its public key.
[[nodiscard]] curve_keypair load_secret_key_file(const std::string &path);

// The public keys of an allow-list file or directory, in file then line order, duplicates
// removed. An empty list is not an error here (the caller says that nobody can connect).
[[nodiscard]] std::vector<std::string> load_allow_list(const std::string &path);

// The two files `zrelayd keygen --out PREFIX` writes: PREFIX.key (the secret key, mode 0600,
// refusing to overwrite an existing file) and PREFIX.pub (the public key, mode 0644).
// Returns the pair; throws std::runtime_error naming the file it could not write.
curve_keypair write_keypair_files(const std::string &prefix);

// What a secret key file and a public key file hold, as write_keypair_files writes them.
[[nodiscard]] std::string secret_key_file_text(const curve_keypair &pair);
[[nodiscard]] std::string public_key_file_text(const curve_keypair &pair);

// True if `text` is a 40-character Z85 CURVE key.
[[nodiscard]] bool is_z85_key(std::string_view text) noexcept;

} // namespace zrelay
