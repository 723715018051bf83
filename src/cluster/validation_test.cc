#include "cluster/validation.h"

#include <gtest/gtest.h>

#include <string>

namespace quidditch::cluster {
namespace {

TEST(ValidateIndexName, AcceptsOpenSearchNames) {
  for (const char* name : {"logs", "logs-2026.11.26", "a", "my_index", ".hidden", "a+b", "ü"}) {
    EXPECT_TRUE(ValidateIndexName(name).ok()) << name;
  }
  EXPECT_TRUE(ValidateIndexName(std::string(255, 'a')).ok());
}

TEST(ValidateIndexName, RejectsWithOpenSearchMessages) {
  struct Case {
    std::string name;
    std::string message;
  };
  const Case cases[] = {
      {"", "Invalid index name [], must not be empty"},
      {"Logs", "Invalid index name [Logs], must be lowercase"},
      {"a b", "must not contain the following characters"},
      {"a\\b", "must not contain the following characters"},
      {"a/b", "must not contain the following characters"},
      {"a*", "must not contain the following characters"},
      {"a?", "must not contain the following characters"},
      {"a\"", "must not contain the following characters"},
      {"a<", "must not contain the following characters"},
      {"a>", "must not contain the following characters"},
      {"a|", "must not contain the following characters"},
      {"a,b", "must not contain the following characters"},
      {"a#b", "Invalid index name [a#b], must not contain '#'"},
      {"a:b", "Invalid index name [a:b], must not contain ':'"},
      {"_a", "must not start with '_', '-', or '+'"},
      {"-a", "must not start with '_', '-', or '+'"},
      {"+a", "must not start with '_', '-', or '+'"},
      {".", "must not be '.' or '..'"},
      {"..", "must not be '.' or '..'"},
      {std::string(256, 'a'), "index name is too long, (256 > 255)"},
      // OpenSearch's order: the other rules before lowercase.
      {"_A", "Invalid index name [_A], must not start with '_', '-', or '+'"},
      {"A#", "Invalid index name [A#], must not contain '#'"},
  };
  for (const Case& c : cases) {
    Status s = ValidateIndexName(c.name);
    EXPECT_TRUE(s.IsInvalidArgument()) << c.name;
    EXPECT_NE(s.message().find(c.message), std::string::npos) << s.message();
  }
}

TEST(ValidateAliasName, TheIndexRulesExceptLowercase) {
  EXPECT_TRUE(ValidateAliasName("Logs-Current").ok());
  Status s = ValidateAliasName("_all");
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(), "Invalid alias name [_all], must not start with '_', '-', or '+'");
  EXPECT_TRUE(ValidateAliasName("a*").IsInvalidArgument());
  EXPECT_TRUE(ValidateAliasName("").IsInvalidArgument());
}

TEST(ValidateIndexSettings, Bounds) {
  IndexSettings s;
  EXPECT_TRUE(ValidateIndexSettings(s).ok());
  s.shards = 10000;
  s.replicas = 10;
  EXPECT_TRUE(ValidateIndexSettings(s).ok());
  for (int32_t shards : {0, -1, 10001}) {
    IndexSettings bad;
    bad.shards = shards;
    Status st = ValidateIndexSettings(bad);
    EXPECT_TRUE(st.IsInvalidArgument()) << shards;
    EXPECT_NE(st.message().find("index.number_of_shards"), std::string::npos);
  }
  for (int32_t replicas : {-1, 11}) {
    IndexSettings bad;
    bad.replicas = replicas;
    Status st = ValidateIndexSettings(bad);
    EXPECT_TRUE(st.IsInvalidArgument()) << replicas;
    EXPECT_NE(st.message().find("index.number_of_replicas"), std::string::npos);
  }
}

TEST(ValidateIndexSettings, RefreshIntervalAndCodec) {
  for (const char* v : {"1s", "500ms", "-1", "2m", "1.5s", "30d", "100nanos", "7micros"}) {
    IndexSettings s;
    s.refresh_interval = v;
    EXPECT_TRUE(ValidateIndexSettings(s).ok()) << v;
  }
  for (const char* v : {"", "1", "s", "1x", "-2s", "1..5s", ".5s", "1 s"}) {
    IndexSettings s;
    s.refresh_interval = v;
    EXPECT_TRUE(ValidateIndexSettings(s).IsInvalidArgument()) << v;
  }
  IndexSettings s;
  s.codec = "best_compression";
  EXPECT_TRUE(ValidateIndexSettings(s).ok());
  s.codec = "zstd";
  EXPECT_TRUE(ValidateIndexSettings(s).IsInvalidArgument());
}

TEST(ValidateNodeInfo, Rules) {
  NodeInfo n;
  n.node_id = "data-0";
  n.roles.data = true;
  EXPECT_TRUE(ValidateNodeInfo(n).ok());
  NodeInfo no_id = n;
  no_id.node_id = "";
  EXPECT_TRUE(ValidateNodeInfo(no_id).IsInvalidArgument());
  NodeInfo spaced = n;
  spaced.node_id = "data 0";
  EXPECT_TRUE(ValidateNodeInfo(spaced).IsInvalidArgument());
  NodeInfo no_roles = n;
  no_roles.roles = Roles{};
  EXPECT_TRUE(ValidateNodeInfo(no_roles).IsInvalidArgument());
  NodeInfo bad_port = n;
  bad_port.http_port = 70000;
  EXPECT_TRUE(ValidateNodeInfo(bad_port).IsInvalidArgument());
}

}  // namespace
}  // namespace quidditch::cluster
