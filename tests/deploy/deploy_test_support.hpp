#pragma once

#include "lab_env.hpp"

#include <unistd.h>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>

namespace talkgate::test {

inline std::string source_path(const std::string& relative) {
    return talkgate::test::source_dir() + "/" + relative;
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    if (!out) throw std::runtime_error("cannot write " + path);
    out << text;
}

// A fresh value per run, so a test never passes on a value someone committed.
inline std::string random_secret(std::size_t n = 24) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::random_device rd;
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += alphabet[rd() % (sizeof alphabet - 1)];
    return s;
}

// A private temporary directory, removed with its content on destruction.
class TempDir {
  public:
    TempDir() {
        std::string tmpl = "/tmp/talkgate-deploy-XXXXXX";
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::string cmd = "rm -rf '" + path_ + "'";
        if (std::system(cmd.c_str()) != 0) {
        }
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// Single-quotes a value for sh.
inline std::string sh_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    return out + "'";
}

}  // namespace talkgate::test
