#include "logger.hpp"

#include <cerrno>
#include <ctime>
#include <system_error>

namespace smux_tunnel {

namespace {

char const* level_name(log_level level) {
    switch (level) {
        case log_level::error:
            return "ERROR";
        case log_level::warn:
            return "WARN";
        case log_level::info:
            return "INFO";
    }
    return "?";
}

}  // namespace

logger::~logger() {
    if (file_ != nullptr) {
        std::fclose(file_);
    }
}

void logger::open_file(std::string const& path) {
    std::FILE* f = std::fopen(path.c_str(), "a");
    if (f == nullptr) {
        throw std::system_error(errno, std::generic_category(), "--log " + path);
    }
    std::lock_guard lock(mutex_);
    if (file_ != nullptr) {
        std::fclose(file_);
    }
    file_ = f;
}

void logger::write(log_level level, std::string_view message) {
    std::time_t const now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char stamp[32];
    std::size_t const n = std::strftime(stamp, sizeof stamp, "%Y/%m/%d %H:%M:%S", &local);
    std::lock_guard lock(mutex_);
    std::FILE* out = file_ != nullptr ? file_ : stderr;
    // One write per line, flushed: a reader (a test, tail -f) sees whole lines at once.
    std::fprintf(out, "%.*s %s %.*s\n", static_cast<int>(n), stamp, level_name(level),
                 static_cast<int>(message.size()), message.data());
    std::fflush(out);
}

}  // namespace smux_tunnel
