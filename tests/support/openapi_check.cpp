#include "openapi_check.hpp"

#include <algorithm>
#include <functional>

namespace talkgate::test {

using nlohmann::json;

namespace {

// "#/components/schemas/Call" -> the node, or null.
const json* resolve(const json& doc, const std::string& ref) {
    if (ref.rfind("#/", 0) != 0) return nullptr;
    try {
        const json& node = doc.at(json::json_pointer(ref.substr(1)));
        return &node;
    } catch (const std::exception&) {
        return nullptr;
    }
}

void find_refs(const json& doc, const json& node, const std::string& where,
               std::vector<std::string>& problems) {
    if (node.is_object()) {
        for (const auto& [key, value] : node.items()) {
            if (key == "$ref") {
                if (!value.is_string() || resolve(doc, value.get<std::string>()) == nullptr)
                    problems.push_back(where + ": $ref " + value.dump() + " resolves nowhere");
                continue;
            }
            find_refs(doc, value, where + "/" + key, problems);
        }
    } else if (node.is_array()) {
        for (std::size_t i = 0; i < node.size(); ++i)
            find_refs(doc, node[i], where + "/" + std::to_string(i), problems);
    }
}

const json& deref(const json& doc, const json& node) {
    const json* n = &node;
    for (int hops = 0; hops < 16 && n->is_object() && n->contains("$ref"); ++hops) {
        const json* next = resolve(doc, (*n)["$ref"].get<std::string>());
        if (next == nullptr) break;
        n = next;
    }
    return *n;
}

bool has_type(const json& value, const std::string& type) {
    if (type == "object") return value.is_object();
    if (type == "array") return value.is_array();
    if (type == "string") return value.is_string();
    if (type == "integer") return value.is_number_integer();
    if (type == "number") return value.is_number();
    if (type == "boolean") return value.is_boolean();
    return false;
}

const char* kMethods[] = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};

std::vector<std::string> split_path(const std::string& path) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        if (end > start) out.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

}  // namespace

std::vector<std::string> openapi_problems(const json& doc) {
    std::vector<std::string> problems;
    if (!doc.is_object()) return {"the document is not a JSON object"};
    if (!doc.contains("openapi") || !doc["openapi"].is_string() ||
        doc["openapi"].get<std::string>().rfind("3.", 0) != 0)
        problems.push_back("openapi: not a 3.x version string");
    if (!doc.contains("info") || !doc["info"].is_object() || !doc["info"].contains("title") ||
        !doc["info"]["title"].is_string() || !doc["info"].contains("version") ||
        !doc["info"]["version"].is_string())
        problems.push_back("info: title and version are required strings");
    if (!doc.contains("paths") || !doc["paths"].is_object() || doc["paths"].empty()) {
        problems.push_back("paths: required, not empty");
    } else {
        for (const auto& [path, item] : doc["paths"].items()) {
            if (path.empty() || path[0] != '/')
                problems.push_back("path '" + path + "': no leading /");
            int operations = 0;
            for (const char* m : kMethods) {
                if (!item.contains(m)) continue;
                ++operations;
                const json& op = item[m];
                const std::string where = std::string(m) + " " + path;
                if (!op.contains("responses") || !op["responses"].is_object() ||
                    op["responses"].empty()) {
                    problems.push_back(where + ": responses required");
                    continue;
                }
                for (const auto& [code, response] : op["responses"].items()) {
                    const json& r = deref(doc, response);
                    if (!r.contains("description") || !r["description"].is_string())
                        problems.push_back(where + " " + code + ": description required");
                }
                // Every {param} of the path is declared as a path parameter.
                std::vector<json> params;
                for (const json* list : {&item, &op})
                    if (list->contains("parameters"))
                        for (const auto& p : (*list)["parameters"]) params.push_back(deref(doc, p));
                for (const auto& seg : split_path(path)) {
                    if (seg.size() < 3 || seg.front() != '{') continue;
                    const std::string name = seg.substr(1, seg.size() - 2);
                    const bool declared =
                        std::any_of(params.begin(), params.end(), [&](const json& p) {
                            return p.value("name", "") == name && p.value("in", "") == "path" &&
                                   p.value("required", false);
                        });
                    if (!declared)
                        problems.push_back(where + ": path parameter " + name + " undeclared");
                }
            }
            if (operations == 0) problems.push_back("path '" + path + "': no operation");
        }
    }
    find_refs(doc, doc, "#", problems);
    return problems;
}

std::vector<std::string> schema_problems(const json& doc, const json& schema_in, const json& value,
                                         const std::string& where) {
    std::vector<std::string> problems;
    const json& schema = deref(doc, schema_in);
    if (!schema.is_object()) return {where + ": schema is not an object"};
    if (value.is_null() && schema.value("nullable", false)) return problems;
    if (schema.contains("allOf")) {
        for (const auto& s : schema["allOf"]) {
            auto more = schema_problems(doc, s, value, where);
            problems.insert(problems.end(), more.begin(), more.end());
        }
    }
    if (schema.contains("oneOf")) {
        int fits = 0;
        for (const auto& s : schema["oneOf"]) fits += schema_problems(doc, s, value, where).empty();
        if (fits != 1)
            problems.push_back(where + ": fits " + std::to_string(fits) + " of oneOf, not 1");
    }
    if (schema.contains("type") && !has_type(value, schema["type"].get<std::string>())) {
        problems.push_back(where + ": " + value.dump() + " is not " + schema["type"].dump());
        return problems;
    }
    if (schema.contains("enum") &&
        std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end())
        problems.push_back(where + ": " + value.dump() + " not in " + schema["enum"].dump());
    if (value.is_number() && schema.contains("minimum") &&
        value.get<double>() < schema["minimum"].get<double>())
        problems.push_back(where + ": below minimum");
    if (value.is_string()) {
        const auto n = value.get<std::string>().size();
        if (schema.contains("minLength") && n < schema["minLength"].get<std::size_t>())
            problems.push_back(where + ": shorter than minLength");
        if (schema.contains("maxLength") && n > schema["maxLength"].get<std::size_t>())
            problems.push_back(where + ": longer than maxLength");
    }
    if (value.is_object()) {
        if (schema.contains("required"))
            for (const auto& key : schema["required"])
                if (!value.contains(key.get<std::string>()))
                    problems.push_back(where + ": required '" + key.get<std::string>() +
                                       "' missing");
        const json empty = json::object();
        const json& props = schema.contains("properties") ? schema["properties"] : empty;
        for (const auto& [key, v] : value.items()) {
            if (props.contains(key)) {
                auto more = schema_problems(doc, props[key], v, where + "." + key);
                problems.insert(problems.end(), more.begin(), more.end());
            } else if (schema.contains("additionalProperties") &&
                       schema["additionalProperties"] == false) {
                problems.push_back(where + ": '" + key + "' is not in the schema");
            }
        }
    }
    if (value.is_array() && schema.contains("items")) {
        for (std::size_t i = 0; i < value.size(); ++i) {
            auto more = schema_problems(doc, schema["items"], value[i],
                                        where + "[" + std::to_string(i) + "]");
            problems.insert(problems.end(), more.begin(), more.end());
        }
    }
    return problems;
}

const json* response_schema(const json& doc, const std::string& method, const std::string& path,
                            int status, const std::string& content_type, std::string& error) {
    const auto segments = split_path(path);
    const json* item = nullptr;
    int best_literals = -1;
    for (const auto& [templ, candidate] : doc["paths"].items()) {
        const auto t = split_path(templ);
        if (t.size() != segments.size()) continue;
        int literals = 0;
        bool match = true;
        for (std::size_t i = 0; i < t.size() && match; ++i) {
            if (!t[i].empty() && t[i].front() == '{') continue;
            match = t[i] == segments[i];
            ++literals;
        }
        if (match && literals > best_literals) {
            item = &candidate;
            best_literals = literals;
        }
    }
    if (item == nullptr) {
        error = "no path in the document matches " + path;
        return nullptr;
    }
    std::string m = method;
    std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!item->contains(m)) {
        error = method + " " + path + " is not in the document";
        return nullptr;
    }
    const json& responses = (*item)[m]["responses"];
    const std::string code = std::to_string(status);
    if (!responses.contains(code)) {
        error = method + " " + path + ": status " + code + " is not in the document";
        return nullptr;
    }
    const json& response = deref(doc, responses[code]);
    if (!response.contains("content") || !response["content"].contains(content_type)) {
        error = method + " " + path + " " + code + ": no " + content_type + " content";
        return nullptr;
    }
    return &response["content"][content_type]["schema"];
}

}  // namespace talkgate::test
