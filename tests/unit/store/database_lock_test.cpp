#include "relay/store/database_lock.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <optional>
#include <stdexcept>
#include <string>

#include "relay/store/schema.hpp"
#include "support/temp_dir.hpp"

namespace relay::store {
namespace {

TEST(DatabaseLock, OneHolderAtATimeAndAPrivateFile) {
  test::temp_dir dir;
  const std::string path = dir.file("relay.db");
  std::optional<database_lock> first(std::in_place, path);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // private before SQLite writes a hash into it
  try {
    database_lock second(path);
    ADD_FAILURE() << "a second lock on the same file was granted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("is in use by another relay"), std::string::npos)
        << e.what();
  }
  // The database opens beside the lock (SQLite's locks are separate), and it stays private.
  {
    auto db = open(path);
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
  first.reset();
  EXPECT_NO_THROW(database_lock again(path));
}

TEST(DatabaseLock, InMemoryDatabasesTakeNone) {
  EXPECT_NO_THROW(database_lock a(""));
  EXPECT_NO_THROW(database_lock b(":memory:"));
}

}  // namespace
}  // namespace relay::store
