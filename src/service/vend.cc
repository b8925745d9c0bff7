// Vending and decoding: TID allocation, the meter registry, billing and idempotency, all inside one
// write job so that they commit together or not at all. Contract: service.h; docs/storage.md.
#include <algorithm>
#include <future>

#include "service/random_ids.h"
#include "service/service_impl.h"
#include "stsvend/sts/tid.h"
#include "stsvend/sts/types.h"

namespace stsvend::service {

using store::Repository;

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

// Refs are UUIDs (36 characters); the bound keeps a request from having a megabyte echoed back in the
// "not assigned" answer.
constexpr std::size_t kMaxRefLength = 64;

Status check_config_ref(std::string_view config_ref) {
  if (config_ref.empty()) return Status::InvalidArgument("config_ref", "is required");
  if (config_ref.size() > kMaxRefLength) {
    return Status::InvalidArgument("config_ref", "must be a configuration ref (at most 64 characters)");
  }
  return Status::Ok();
}

// A configuration that does not exist or is another tenant's (the two are indistinguishable). GW answers
// vends and decodes with it as status.code 500 (NECTAR-V1 §3.1.3), hence not NotFound (405).
Status config_not_assigned(std::string_view config_ref, std::string_view user_ref) {
  return Status::FailedPrecondition("config_ref",
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

Result<bool> adopt_configuration(Meter& m, const ConfigurationInfo& c) {
  if (m.config_ref == c.ref) return false;
  if (m.moved_by_kct && matches_meter(m, c)) {
    take_config_parameters(m, c);
    return true;
  }
  if (m.moved_by_kct) {
    return Status::FailedPrecondition(
        "config_ref", "key change needed: meter " + m.drn + " was moved by a key change to SGC " +
                          std::to_string(m.supply_group_code) + " KRN " + std::to_string(m.key_revision_no) + " KT " +
                          std::to_string(m.key_type) + " TI " + std::to_string(m.tariff_index) +
                          "; use a configuration with these parameters");
  }
  return Status::FailedPrecondition("config_ref", "key change needed: meter " + m.drn +
                                                      " holds the key of configuration " + m.config_ref);
}

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

// One vend on its way through the writer: the request, what was prepared outside the writer, and
// the outcome the write job leaves for the completion.
struct ServiceImpl::VendState {
  VendRequest req;
  std::shared_ptr<const MeterKey> mk;
  sts::TokenRequest treq;  // TID and RND filled in
  Millis t = 0;
  std::string set_ref;
  Status outcome;  // the vend's own answer (a refusal leaves only the nonce written)
  VendResult result;
};

Result<VendResult> ServiceImpl::vend(const VendRequest& req) {
  std::promise<Result<VendResult>> promise;
  auto future = promise.get_future();
  VendRequest copy;
  copy.user_ref = req.user_ref;
  copy.config_ref = req.config_ref;
  copy.drn = req.drn;
  copy.token = clone_request(req.token);
  copy.random_no = req.random_no;
  copy.token_id = req.token_id;
  copy.allow_tid_replay = req.allow_tid_replay;
  copy.idempotency_key = req.idempotency_key;
  copy.request_fingerprint = req.request_fingerprint;
  copy.request_id = req.request_id;
  copy.nonce_key = req.nonce_key;
  copy.nonce = req.nonce;
  copy.nonce_dated = req.nonce_dated;
  vend_async(std::move(copy), [&promise](Result<VendResult> r) { promise.set_value(std::move(r)); });
  return future.get();
}

// Answers a vend that needs no vend transaction (a refusal or an idempotent replay) once the
// request's nonce is on record: a nonce seen before turns any answer into Unauthenticated.
void ServiceImpl::answer_after_nonce(const VendRequest& req, Result<VendResult> answer,
                                     std::function<void(Result<VendResult>)> done) {
  if (req.nonce.empty()) return done(std::move(answer));
  consume_nonce_async(req.nonce_key, req.nonce, req.nonce_dated,
                      [answer = std::move(answer), done = std::move(done)](Status nonce) mutable {
                        if (nonce.code() == Status::Code::kAlreadyExists) {
                          done(Status::Unauthenticated("nonce already used"));
                        } else if (!nonce.ok()) {
                          done(std::move(nonce));
                        } else {
                          done(std::move(answer));
                        }
                      });
}

void ServiceImpl::vend_async(VendRequest req, std::function<void(Result<VendResult>)> done) {
  auto refuse = [this, &req, &done](Status why) { answer_after_nonce(req, std::move(why), std::move(done)); };
  if (Status s = check_config_ref(req.config_ref); !s.ok()) return refuse(std::move(s));
  if (req.drn.empty()) return refuse(Status::InvalidArgument("drn", "is required"));
  if (req.idempotency_key && (req.idempotency_key->empty() || req.idempotency_key->size() > 255)) {
    return refuse(Status::InvalidArgument("Idempotency-Key", "must be 1 to 255 characters"));
  }
  if (req.random_no && *req.random_no > 15) return refuse(Status::InvalidArgument("random_no", "must be from 0 to 15"));
  if (req.token.key_change && !req.token.key_change->new_drn.empty() && req.token.key_change->new_drn != req.drn) {
    // The new decoder key would derive from another DRN: the meter would then take only tokens made
    // for that number, while the registry (and every later vend for this DRN) would still use this
    // one. The engine CLI (`token generate --new-drn`) serves the rare meter that is re-numbered.
    return refuse(Status::InvalidArgument("new_drn", "must equal drn " + req.drn +
                                                         ": a key change keeps the meter's decoder reference number"));
  }

  if (req.idempotency_key) {
    // A replay is answered from a read connection, without the vend transaction.
    Result<std::optional<VendResult>> replayed = replay_from_snapshot(req);
    if (!replayed.ok()) return refuse(std::move(replayed).take_status());
    if (*replayed) return answer_after_nonce(req, std::move(**replayed), std::move(done));
  }

  // Key material is prepared outside the writer so the write job stays short.
  auto mk = meter_key(req.user_ref, req.config_ref, req.drn);
  if (!mk.ok()) return refuse(std::move(mk).take_status());
  auto state = std::make_shared<VendState>();
  state->mk = std::move(mk).value();
  state->treq = clone_request(req.token);
  state->treq.random_no = req.random_no ? *req.random_no : random_below(16);
  state->t = now();
  state->set_ref = time_ordered_uuid(state->t);
  state->req = std::move(req);
  db_->write_async([this, state](Repository& repo) { return run_vend_job(repo, *state); },
                   [state, done = std::move(done)](Status written) {
                     if (!written.ok()) return done(std::move(written));
                     if (!state->outcome.ok()) return done(std::move(state->outcome));
                     done(std::move(state->result));
                   });
}

Result<std::optional<VendResult>> ServiceImpl::replay_from_snapshot(const VendRequest& req) {
  STSVEND_READ_LEASE(lease);
  STSVEND_ASSIGN_OR_RETURN(auto rec, lease->repo().find_idempotency(req.user_ref, *req.idempotency_key));
  if (!rec) return std::optional<VendResult>();
  STSVEND_ASSIGN_OR_RETURN(VendResult r, replay(lease->repo(), req, *rec));
  return std::optional<VendResult>(std::move(r));
}

Result<VendResult> ServiceImpl::replay(Repository& repo, const VendRequest& req, const store::IdempotencyRecord& rec) {
  if (rec.fingerprint != req.request_fingerprint) {
    return Status::AlreadyExists("Idempotency-Key", "was used with a different request");
  }
  VendResult r;
  STSVEND_ASSIGN_OR_RETURN(r.tokens, repo.tokens_in_set(req.user_ref, rec.set_ref));
  r.replayed = true;
  return r;
}

// The vend's write job. Order matters (see store::WriteJob): the nonce, then every check (reads
// only), then the writes, the debit first. A refusal after the nonce returns Ok with the refusal in
// state.outcome, so that the batch keeps the nonce and nothing else; a failing write returns its
// error, and the database undoes the whole job.
Status ServiceImpl::run_vend_job(Repository& repo, VendState& s) {
  const VendRequest& req = s.req;
  s.outcome = Status::Ok();
  s.result = VendResult{};
  ledger_.sync(repo);
  if (!req.nonce.empty()) {
    STSVEND_ASSIGN_OR_RETURN(const bool fresh,
                             repo.record_nonce(req.nonce_key, req.nonce, s.t, options_.nonce_ttl_seconds * 1000,
                                               req.nonce_dated));
    if (!fresh) return Status::Unauthenticated("nonce already used");
    STSVEND_RETURN_IF_ERROR(prune_expired_nonces(repo, s.t));
  }
  Result<VendPlan> plan = plan_vend(repo, s);
  if (!plan.ok()) {
    s.outcome = std::move(plan).take_status();
    return Status::Ok();
  }
  if (plan->replay) {
    s.result = std::move(*plan->replay);
    return Status::Ok();
  }
  if (Status debit = repo.add_to_balance(req.user_ref, -plan->price); !debit.ok()) {
    if (debit.code() != Status::Code::kFailedPrecondition) return debit;
    s.outcome = std::move(debit);  // insufficient credits: the refused UPDATE changed nothing
    return Status::Ok();
  }
  for (TokenRecord& rec : plan->tokens) STSVEND_RETURN_IF_ERROR(repo.insert_token(rec, plan->meter.tid_epoch));
  if (plan->rolls_over) {
    // Roll-over: the meter clears its TID store, so TIDs start afresh in a new epoch (the set's own
    // rows stay in the old one).
    plan->meter.last_tid.reset();
    plan->meter.tid_epoch += 1;
  }
  if (plan->meter_row_changed) STSVEND_RETURN_IF_ERROR(repo.upsert_meter(plan->meter));
  if (req.idempotency_key) {
    STSVEND_RETURN_IF_ERROR(repo.insert_idempotency(
        store::IdempotencyRecord{req.user_ref, *req.idempotency_key, req.request_fingerprint, s.set_ref, s.t}));
  }
  ledger_.put_meter(std::move(plan->meter));
  s.result.tokens = std::move(plan->tokens);
  return Status::Ok();
}

Status ServiceImpl::prune_expired_nonces(Repository& repo, Millis t) {
  // Expired nonces go in small deletes, so that no job stalls on a big one: a burst of traffic
  // followed by a quiet quarter of an hour used to leave the whole burst's nonces to the next request
  // (132,000 rows: a 547 ms answer). At most kMaxRows per job, and every job while a backlog remains,
  // otherwise a look every 100 ms: a job records one nonce, so a backlog drains at seven times the
  // rate nonces arrive, and a group-commit batch of 64 jobs deletes at most 512 rows (256 a job made
  // such a batch stall for tens of ms while it drained a burst).
  constexpr std::int64_t kMaxRows = 8;
  if (!nonce_prune_backlog_ && t < next_nonce_prune_) return Status::Ok();
  STSVEND_ASSIGN_OR_RETURN(const std::int64_t pruned,
                           repo.prune_nonces(t - options_.nonce_ttl_seconds * 1000, kMaxRows));
  nonce_prune_backlog_ = pruned == kMaxRows;
  next_nonce_prune_ = t + 100;
  return Status::Ok();
}

// Every check of a vend and the rows it will write; reads only (through the ledger).
Result<ServiceImpl::VendPlan> ServiceImpl::plan_vend(Repository& repo, VendState& s) {
  const VendRequest& req = s.req;
  VendPlan plan;
  if (req.idempotency_key) {
    // Re-checked here: two concurrent first requests with one key serialize on the writer.
    STSVEND_ASSIGN_OR_RETURN(auto rec, repo.find_idempotency(req.user_ref, *req.idempotency_key));
    if (rec) {
      STSVEND_ASSIGN_OR_RETURN(VendResult r, replay(repo, req, *rec));
      plan.replay = std::move(r);
      return plan;
    }
  }
  STSVEND_ASSIGN_OR_RETURN(const ConfigurationInfo* config, ledger_.configuration(repo, req.user_ref, req.config_ref));
  if (config == nullptr) return config_not_assigned(req.config_ref, req.user_ref);
  if (!config->activated) {
    return Status::FailedPrecondition("config_ref", "Config " + req.config_ref + " is deactivated");
  }

  // Meter registry: which key the meter holds decides which configuration may vend for it.
  STSVEND_ASSIGN_OR_RETURN(const Meter* existing, ledger_.meter(repo, req.user_ref, req.drn));
  Meter& m = plan.meter;
  if (existing) {
    m = *existing;
    STSVEND_ASSIGN_OR_RETURN(const bool adopted, adopt_configuration(m, *config));
    plan.meter_row_changed = adopted;
  } else {
    m.drn = req.drn;
    m.user_ref = req.user_ref;
    m.created_at = s.t;
    take_config_parameters(m, *config);
    plan.meter_row_changed = true;
  }

  // TID: server-owned, strictly increasing per meter, one minute per token.
  const unsigned token_class = req.token.token_class;
  const unsigned subclass = req.token.subclass;
  const sts::BaseDate base_date = s.mk->config.base_date;
  sts::TokenRequest& treq = s.treq;
  if (sts::carries_tid(token_class, subclass)) {
    const std::int64_t base = sts::base_date_unix_seconds(base_date);
    std::uint32_t tid = 0;
    if (req.token_id) {
      auto r = sts::tid_from_unix(*req.token_id, base_date, "token_id");
      if (!r.ok()) {
        if (*req.token_id < base) return r.status();
        // The caller's instant is past the range, which is not (yet) the meter's problem.
        return Status::InvalidArgument("token_id", "must not be after " +
                                                       sts::format_instant(sts::unix_from_tid(sts::kMaxTid, base_date)) +
                                                       ", the last minute of base date " +
                                                       std::to_string(static_cast<int>(base_date)) + "'s TID range");
      }
      tid = *r;
      if (m.last_tid && tid <= *m.last_tid && !req.allow_tid_replay) {
        return Status::InvalidArgument("token_id", "must be newer than the meter's last token identifier " +
                                                       sts::format_instant(sts::unix_from_tid(*m.last_tid, base_date)));
      }
    } else {
      auto r = sts::tid_from_unix(s.t / 1000, base_date, "token_id");
      if (!r.ok()) return s.t / 1000 >= base ? tid_range_exhausted(base_date) : r.status();
      std::uint64_t next = *r;
      if (m.last_tid) next = std::max<std::uint64_t>(next, std::uint64_t{*m.last_tid} + 1);
      if (next > sts::kMaxTid) return tid_range_exhausted(base_date);
      tid = static_cast<std::uint32_t>(next);
    }
    treq.tid = tid;
    if (!m.last_tid || tid > *m.last_tid) m.last_tid = tid;
  }

  STSVEND_ASSIGN_OR_RETURN(std::vector<sts::Token> tokens, sts::generate_tokens(s.mk->config, s.mk->cipher, req.drn, treq));
  plan.price = options_.price_per_token * static_cast<Units>(tokens.size());
  plan.tokens.reserve(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const sts::Token& tok = tokens[i];
    TokenRecord rec;
    rec.ref = i == 0 ? s.set_ref : time_ordered_uuid(s.t);  // the set's first token names the set
    rec.user_ref = req.user_ref;
    rec.config_ref = req.config_ref;
    rec.meter_no = req.drn;
    rec.token_no = tok.number;
    rec.token_type = std::string(tok.token_type);
    rec.token_class = static_cast<int>(tok.token_class);
    rec.subclass = static_cast<int>(tok.subclass);
    rec.tid = tok.tid;
    rec.set_ref = s.set_ref;
    rec.set_index = static_cast<int>(i);
    rec.request_id = req.request_id;
    rec.created_at = s.t;
    rec.price = options_.price_per_token;
    plan.tokens.push_back(std::move(rec));
  }

  if (is_key_change(token_class, subclass)) {
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
    plan.meter_row_changed = true;
    plan.rolls_over = kc.ro;
  }
  return plan;
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
  STSVEND_RETURN_IF_ERROR(check_config_ref(config_ref));
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
  // Not a token of this meter at all: a failed request, so nothing is recorded.
  switch (out.outcome.result) {
    case sts::TokenResult::kFormat:
      return Status::InvalidArgument("token_no", "must be 20 digits below 2^66 and not class 3");
    case sts::TokenResult::kCrc:
      return Status::InvalidArgument("token_no", "CRC mismatch: wrong configuration or meter, or a mistyped token");
    default:
      break;
  }
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

