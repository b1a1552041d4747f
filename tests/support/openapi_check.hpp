#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

// A small OpenAPI 3.0 checker for talkgate's contracts: the document's structure, and a JSON
// value against a schema (the subset of JSON Schema the documents use: type, nullable, enum,
// required, properties, additionalProperties: false, items, allOf, oneOf, minimum, minLength,
// maxLength, $ref).
namespace talkgate::test {

// What is wrong with an OpenAPI 3 document: missing required fields (openapi 3.x, info.title,
// info.version, paths, each operation's responses with descriptions), $refs that resolve
// nowhere. Empty when it is fine.
std::vector<std::string> openapi_problems(const nlohmann::json& doc);

// What is wrong with `value` against `schema` (may hold $refs into `doc`). Empty when it fits.
std::vector<std::string> schema_problems(const nlohmann::json& doc, const nlohmann::json& schema,
                                         const nlohmann::json& value,
                                         const std::string& where = "$");

// The response schema the document gives for METHOD on a concrete path (matched against the
// path templates, literal segments first) and status, for `content_type`; null with `error`
// set when the document has none.
const nlohmann::json* response_schema(const nlohmann::json& doc, const std::string& method,
                                      const std::string& path, int status,
                                      const std::string& content_type, std::string& error);

}  // namespace talkgate::test
