// Vending and decoding: TID allocation, the meter registry, billing and idempotency, all inside one
// write job so that they commit together or not at all. Contract: service.h; docs/storage.md.
#include <algorithm>

#include "service/random_ids.h"
#include "service/service_impl.h"
#include "stsvend/sts/tid.h"
#include "stsvend/sts/types.h"

namespace stsvend::service {

using store::Repository;

#define STSVEND_READ_LEASE(lease) STSVEND_ASSIGN_OR_RETURN(std::unique_ptr<store::ReadLease> lease, db_->read())

namespace {

bool is_key_change(unsigned token_class, unsigned subclass) {
  return token_class == 2 && (subclass == 3 || subclass == 4 || subclass == 8 || subclass == 9);
}

// TokenRequest is move-only (a key change carries key bytes); the service needs its own copy to
// fill in TID and RND.
sts::TokenRequest clone_request(const sts::TokenRequest& r) {
  sts::TokenRequest c;
  c.token_class = r.token_class;
  c.subclass = r.subclass;
  c.tid = r.tid;
  c.random_no = r.random_no;
  c.amount_tenths = r.amount_tenths;
  c.control = r.control;
  c.manufacturer_code = r.manufacturer_code;
  c.maximum_power_limit = r.maximum_power_limit;
  c.register_no = r.register_no;
  c.tariff_rate = r.tariff_rate;
  c.pad = r.pad;
  c.mppul = r.mppul;
  c.wm_factor = r.wm_factor;
  if (r.key_change) c.key_change = r.key_change->clone();
  return c;
}

Status config_not_assigned(std::string_view config_ref, std::string_view user_ref) {
  return Status::NotFound("config_ref",
                          "Config " + std::string(config_ref) + " is not assigned to " + std::string(user_ref));
}

Status tid_range_exhausted(sts::BaseDate base_date) {
  return Status::FailedPrecondition("token_id", "TID range of base date " +
                                                    std::to_string(static_cast<int>(base_date)) +
                                                    " exhausted; a base-date roll-over key change is needed");
}

// Whether `config` has the key parameters a key change token set moved the meter to.
bool matches_meter(const Meter& m, const ConfigurationInfo& c) {
  return m.supply_group_code == c.supply_group_code && m.tariff_index == c.tariff_index &&
         m.key_revision_no == c.key_revision_no && m.key_type == c.key_type &&
         (m.issuer_identification_no.empty() || m.issuer_identification_no == c.issuer_identification_no);
}

std::string digits_only(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= '0' && c <= '9') out += c;
  }
  return out;
}

}  // namespace

void take_config_parameters(Meter& m, const ConfigurationInfo& c) {
  m.config_ref = c.ref;
  m.key_revision_no = c.key_revision_no;
  m.key_type = c.key_type;
  m.supply_group_code = c.supply_group_code;
  m.tariff_index = c.tariff_index;
  m.key_expiry_no = c.key_expiry_no;
  m.issuer_identification_no = c.issuer_identification_no;
  m.moved_by_kct = false;
}


Result<std::shared_ptr<const MeterKey>> ServiceImpl::meter_key(std::string_view user_ref, std::string_view config_ref,
                                                               std::string_view drn) {
  // REQUIRES (callers): ownership of config_ref is checked before the key is used; a hit here is
  // keyed by the globally unique config ref alone.
  if (auto hit = key_cache_.find(config_ref, drn)) return hit;
  std::optional<store::StoredConfiguration> stored;
  {
    STSVEND_READ_LEASE(lease);
    STSVEND_ASSIGN_OR_RETURN(stored, lease->repo().find_configuration(user_ref, config_ref));
  }
  if (!stored) return config_not_assigned(config_ref, user_ref);
  STSVEND_ASSIGN_OR_RETURN(SecretBytes text, vault_->open(stored->sealed_text, "config:" + std::string(config_ref)));
  STSVEND_ASSIGN_OR_RETURN(
      sts::Config config,
      sts::parse_config_text(std::string_view(reinterpret_cast<const char*>(text.data()), text.size())));
  STSVEND_ASSIGN_OR_RETURN(sts::DecoderKey key, sts::derive_decoder_key(config, drn));
  STSVEND_ASSIGN_OR_RETURN(sts::TokenCipher cipher, sts::TokenCipher::create(key, config.encryption_algorithm));
  config.vending_key = SecretBytes();  // the cache never holds the vending key
  auto entry = std::make_shared<const MeterKey>(MeterKey{std::move(config), std::move(key), std::move(cipher)});
  key_cache_.put(config_ref, drn, entry);
  return entry;
}

Result<VendResult> ServiceImpl::vend(const VendRequest& req) {
  if (req.config_ref.empty()) return Status::InvalidArgument("config_ref", "is required");
  if (req.drn.empty()) return Status::InvalidArgument("drn", "is required");
  if (req.idempotency_key && (req.idempotency_key->empty() || req.idempotency_key->size() > 255)) {
    return Status::InvalidArgument("Idempotency-Key", "must be 1 to 255 characters");
  }
  if (req.random_no && *req.random_no > 15) return Status::InvalidArgument("random_no", "must be from 0 to 15");

  // A replay is answered from a read connection, without queueing a write.
  auto replay = [&](Repository& repo, const store::IdempotencyRecord& rec) -> Result<VendResult> {
    if (rec.fingerprint != req.request_fingerprint) {
      return Status::AlreadyExists("Idempotency-Key", "was used with a different request");
    }
    VendResult r;
    STSVEND_ASSIGN_OR_RETURN(r.tokens, repo.tokens_in_set(req.user_ref, rec.set_ref));
    r.replayed = true;
    return r;
  };
  if (req.idempotency_key) {
    std::optional<store::IdempotencyRecord> rec;
    {
      STSVEND_READ_LEASE(lease);
      STSVEND_ASSIGN_OR_RETURN(rec, lease->repo().find_idempotency(req.user_ref, *req.idempotency_key));
    }
    if (rec) {
      Result<VendResult> replayed = Status::Internal("unreachable");
      {
        STSVEND_READ_LEASE(lease);
        replayed = replay(lease->repo(), *rec);
      }
      // Answered without the vend transaction: the nonce gets its own durable write, but only for a
      // successful replay (on error the caller records it, as the contract says).
      if (replayed.ok() && !req.nonce.empty()) {
        Status s = consume_nonce(req.nonce_key, req.nonce);
        if (s.code() == Status::Code::kAlreadyExists) return Status::Unauthenticated("nonce already used");
        STSVEND_RETURN_IF_ERROR(s);
      }
      return replayed;
    }
  }

  // Key material is prepared outside the writer so the write job stays short.
  STSVEND_ASSIGN_OR_RETURN(std::shared_ptr<const MeterKey> mk, meter_key(req.user_ref, req.config_ref, req.drn));
  const unsigned token_class = req.token.token_class;
  const unsigned subclass = req.token.subclass;
  const bool tid_bearing = sts::carries_tid(token_class, subclass);
  const bool key_change = is_key_change(token_class, subclass);
  const sts::BaseDate base_date = mk->config.base_date;
  sts::TokenRequest treq = clone_request(req.token);
  treq.random_no = req.random_no ? *req.random_no : random_below(16);
  const Millis t = now();
  const std::string set_ref = time_ordered_uuid(t);

  VendResult result;
  Status st = db_->write([&](Repository& repo) -> Status {
    result = VendResult{};
    if (!req.nonce.empty()) {
      STSVEND_ASSIGN_OR_RETURN(const bool fresh, repo.record_nonce(req.nonce_key, req.nonce, t,
                                                                  options_.nonce_ttl_seconds * 1000));
      if (!fresh) return Status::Unauthenticated("nonce already used");
    }
    if (req.idempotency_key) {
      // Re-checked here: two concurrent first requests with one key serialize on the writer.
      STSVEND_ASSIGN_OR_RETURN(auto rec, repo.find_idempotency(req.user_ref, *req.idempotency_key));
      if (rec) {
        STSVEND_ASSIGN_OR_RETURN(result, replay(repo, *rec));
        return Status::Ok();
      }
    }
    STSVEND_ASSIGN_OR_RETURN(auto config, repo.find_configuration(req.user_ref, req.config_ref));
    if (!config) return config_not_assigned(req.config_ref, req.user_ref);
    if (!config->info.activated) {
      return Status::FailedPrecondition("config_ref", "Config " + req.config_ref + " is deactivated");
    }

    // Meter registry: which key the meter holds decides which configuration may vend for it.
    STSVEND_ASSIGN_OR_RETURN(auto existing, repo.find_meter(req.user_ref, req.drn));
    Meter m;
    if (existing) {
      m = std::move(*existing);
      if (m.config_ref != req.config_ref) {
        if (m.moved_by_kct && matches_meter(m, config->info)) {
          take_config_parameters(m, config->info);
        } else if (m.moved_by_kct) {
          return Status::FailedPrecondition(
              "config_ref", "key change needed: meter " + req.drn + " was moved by a key change to SGC " +
                                std::to_string(m.supply_group_code) + " KRN " + std::to_string(m.key_revision_no) +
                                " KT " + std::to_string(m.key_type) + " TI " + std::to_string(m.tariff_index) +
                                "; use a configuration with these parameters");
        } else {
          return Status::FailedPrecondition("config_ref", "key change needed: meter " + req.drn +
                                                              " holds the key of configuration " + m.config_ref);
        }
      }
    } else {
      m.drn = req.drn;
      m.user_ref = req.user_ref;
      m.created_at = t;
      take_config_parameters(m, config->info);
    }

    // TID: server-owned, strictly increasing per meter, one minute per token.
    if (tid_bearing) {
      const std::int64_t base = sts::base_date_unix_seconds(base_date);
      std::uint32_t tid = 0;
      if (req.token_id) {
        auto r = sts::tid_from_unix(*req.token_id, base_date, "token_id");
        if (!r.ok()) return *req.token_id >= base ? tid_range_exhausted(base_date) : r.status();
        tid = *r;
        if (m.last_tid && tid <= *m.last_tid && !req.allow_tid_replay) {
          return Status::InvalidArgument("token_id", "must be newer than the meter's last token identifier " +
                                                         sts::format_instant(sts::unix_from_tid(*m.last_tid, base_date)));
        }
      } else {
        auto r = sts::tid_from_unix(t / 1000, base_date, "token_id");
        if (!r.ok()) return t / 1000 >= base ? tid_range_exhausted(base_date) : r.status();
        std::uint64_t next = *r;
        if (m.last_tid) next = std::max<std::uint64_t>(next, std::uint64_t{*m.last_tid} + 1);
        if (next > sts::kMaxTid) return tid_range_exhausted(base_date);
        tid = static_cast<std::uint32_t>(next);
      }
      treq.tid = tid;
      if (!m.last_tid || tid > *m.last_tid) m.last_tid = tid;
    }

    STSVEND_ASSIGN_OR_RETURN(std::vector<sts::Token> tokens,
                             sts::generate_tokens(mk->config, mk->cipher, req.drn, treq));
    const Units price = options_.price_per_token * static_cast<Units>(tokens.size());
    STSVEND_RETURN_IF_ERROR(repo.add_to_balance(req.user_ref, -price));

    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const sts::Token& tok = tokens[i];
      TokenRecord rec;
      rec.ref = time_ordered_uuid(t);
      rec.user_ref = req.user_ref;
      rec.config_ref = req.config_ref;
      rec.meter_no = req.drn;
      rec.token_no = tok.number;
      rec.token_type = std::string(tok.token_type);
      rec.token_class = static_cast<int>(tok.token_class);
      rec.subclass = static_cast<int>(tok.subclass);
      rec.tid = tok.tid;
      rec.set_ref = set_ref;
      rec.set_index = static_cast<int>(i);
      rec.request_id = req.request_id;
      rec.created_at = t;
      STSVEND_RETURN_IF_ERROR(repo.insert_token(rec, m.tid_epoch));
      store::Consumption c{time_ordered_uuid(t), options_.price_per_token, t, req.user_ref, rec.ref};
      STSVEND_RETURN_IF_ERROR(repo.insert_consumption(c));
      result.tokens.push_back(std::move(rec));
    }

    if (key_change) {
      // The meter now holds the new key: record its parameters; the next vend needs a
      // configuration that has them.
      const sts::KeyChange& kc = *treq.key_change;
      m.key_revision_no = kc.new_key_revision_no;
      m.key_type = static_cast<int>(kc.new_key_type);
      m.supply_group_code = kc.new_supply_group_code;
      m.tariff_index = kc.new_tariff_index;
      m.key_expiry_no = kc.new_key_expiry_no;
      if (!kc.new_issuer_identification_no.empty()) m.issuer_identification_no = kc.new_issuer_identification_no;
      m.moved_by_kct = true;
      m.config_ref.clear();
      if (kc.ro) {
        // Roll-over: the meter clears its TID store, so TIDs start afresh in a new epoch.
        m.last_tid.reset();
        m.tid_epoch += 1;
      }
    }
    STSVEND_RETURN_IF_ERROR(repo.upsert_meter(m));
    if (req.idempotency_key) {
      STSVEND_RETURN_IF_ERROR(repo.insert_idempotency(
          store::IdempotencyRecord{req.user_ref, *req.idempotency_key, req.request_fingerprint, set_ref, t}));
    }
    return notify(repo, req.user_ref, "GENERATE_TOKEN", "Token generated",
                  "Generated " + std::to_string(tokens.size()) + " token(s) for meter " + req.drn +
                      " [Request-ID: " + req.request_id + "]",
                  result.tokens.front().ref);
  });
  if (!st.ok()) return st;
  return result;
}

Result<std::vector<TokenRecord>> ServiceImpl::get_token_set(std::string_view user_ref, std::string_view token_ref) {
  STSVEND_READ_LEASE(lease);
  STSVEND_ASSIGN_OR_RETURN(auto token, lease->repo().find_token(user_ref, token_ref));
  if (!token) return Status::NotFound("ref", "not found");
  return lease->repo().tokens_in_set(user_ref, token->set_ref);
}

Result<TokenRecord> ServiceImpl::get_token(std::string_view user_ref, std::string_view ref) {
  STSVEND_READ_LEASE(lease);
  STSVEND_ASSIGN_OR_RETURN(auto token, lease->repo().find_token(user_ref, ref));
  if (!token) return Status::NotFound("ref", "not found");
  return std::move(*token);
}

Result<std::vector<TokenRecord>> ServiceImpl::list_tokens_by_meter(std::string_view user_ref, std::string_view drn) {
  STSVEND_READ_LEASE(lease);
  STSVEND_ASSIGN_OR_RETURN(auto meter, lease->repo().find_meter(user_ref, drn));
  if (!meter) return Status::NotFound("drn", "not found");
  return lease->repo().tokens_by_meter(user_ref, drn);
}

Result<DecodeResult> ServiceImpl::decode(std::string_view user_ref, std::string_view config_ref, std::string_view drn,
                                         std::string_view token_no) {
  if (drn.empty()) return Status::InvalidArgument("drn", "is required");
  const std::string digits = digits_only(token_no);
  DecodeResult out;
  {
    // Ownership first: the key cache is keyed by config ref alone.
    STSVEND_READ_LEASE(lease);
    STSVEND_ASSIGN_OR_RETURN(auto config, lease->repo().find_configuration(user_ref, config_ref));
    if (!config) return config_not_assigned(config_ref, user_ref);
    STSVEND_ASSIGN_OR_RETURN(out.record, lease->repo().find_token_by_number(user_ref, drn, digits));
  }
  STSVEND_ASSIGN_OR_RETURN(std::shared_ptr<const MeterKey> mk, meter_key(user_ref, config_ref, drn));
  out.outcome = sts::decode_token(token_no, mk->key, mk->config.encryption_algorithm);
  if (Status written = db_->write([&](Repository& repo) -> Status {
    return notify(repo, user_ref, "DECODE_TOKEN", "Token decoded",
                  "Decoded a token for meter " + std::string(drn) + ": " +
                      std::string(sts::token_result_name(out.outcome.result)),
                  out.record ? std::string_view(out.record->ref) : std::string_view());
  }); !written.ok()) {
    return written;
  }
  return out;
}

}  // namespace stsvend::service
