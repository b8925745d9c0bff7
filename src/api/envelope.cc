// Nectar envelope construction; NECTAR-V1.md §1 and §2.7.
#include "api/envelope.h"

#include <boost/beast/http.hpp>

#include "api/http_server.h"
#include "api/json_io.h"

namespace stsvend::api {

namespace {

boost::json::object status_object(int code, std::string_view message, const std::string& request_id,
                                  const boost::json::storage_ptr& sp = {}) {
  boost::json::object s(sp);
  s["code"] = code;
  s["message"] = message;
  if (!request_id.empty()) s["request_id"] = request_id;
  return s;
}

}  // namespace

int nectar_code_for(const Status& status) noexcept {
  switch (status.code()) {
    case Status::Code::kOk:
      return 200;
    case Status::Code::kInvalidArgument:
      return 400;
    case Status::Code::kNotFound:
      return 405;
    case Status::Code::kAlreadyExists:
      return 700;
    default:
      return 500;
  }
}

Reply envelope_data(std::string_view message, const std::string& request_id, boost::json::value value,
                    const boost::json::storage_ptr& sp) {
  boost::json::object inner(sp);
  inner["data"] = std::move(value);
  return envelope_raw_data(message, request_id, std::move(inner), sp);
}

Reply envelope_raw_data(std::string_view message, const std::string& request_id, boost::json::object data,
                        const boost::json::storage_ptr& sp) {
  boost::json::object body(sp);
  body["status"] = status_object(200, message, request_id, sp);
  body["data"] = std::move(data);
  return Reply{200, 200, "application/json", write_json(body), {}};
}

WrittenEnvelope::WrittenEnvelope(std::string_view message, const std::string& request_id)
    : text_(R"({"status":)") {
  append_json(status_object(200, message, request_id), text_);
  text_ += R"(,"data":{"data":)";
}

Reply WrittenEnvelope::finish() && {
  text_ += "}}";
  return Reply{200, 200, "application/json", std::move(text_), {}};
}

Reply envelope_no_data(std::string_view message, const std::string& request_id) {
  boost::json::object body;
  body["status"] = status_object(200, message, request_id);
  return Reply{200, 200, "application/json", write_json(body), {}};
}

Reply envelope_error(const Status& status, const std::string& request_id, std::string_view path) {
  if (status.code() == Status::Code::kUnauthenticated) return spring_reply(401, status.message(), path);
  if (status.code() == Status::Code::kPermissionDenied) return spring_reply(403, status.message(), path);
  // NECTAR-V1 §1: an unparseable body is one of GW's framework errors, HTTP 400.
  if (status.code() == Status::Code::kInvalidArgument && status.field() == kBodyField) {
    return spring_reply(400, status.message(), path);
  }
  const int code = nectar_code_for(status);
  // "field: rule" — names the input and the rule; Nectar texts ("Insufficient credits", "Calculated and
  // payload digests do not match!") stay verbatim inside it.
  const std::string message = status.message();
  boost::json::object s = status_object(code, message, request_id);
  if (!status.field().empty()) s["field"] = status.field();
  if (!status.rule().empty()) s["rule"] = status.rule();
  boost::json::object body;
  body["status"] = std::move(s);
  return Reply{200, code, "application/json", write_json(body), {}};
}

Reply spring_reply(unsigned http_status, std::string_view message, std::string_view path) {
  HttpResponse r = spring_error(http_status, message, path, 11, true);
  return Reply{http_status, 0, "application/json", std::move(r.body()), {}};
}

}  // namespace stsvend::api
