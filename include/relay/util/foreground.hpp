// Job control: a process that reads its terminal while another job is in the foreground is
// stopped by the kernel (SIGTTIN) until `fg`. The relay's console and the client's reader must
// not do that: a relay put in the background (a shell does so after an outside SIGSTOP and
// SIGCONT) would stop serving everyone at the next key pressed in its terminal.
#pragma once

namespace relay::util {

/// True if `fd` is this process's controlling terminal and another process group is in its
/// foreground, so that reading it (or setting its modes) would stop this process. False for
/// anything that is not such a terminal (a pipe, a file, another terminal).
bool terminal_taken_by_another_job(int fd) noexcept;

}  // namespace relay::util
