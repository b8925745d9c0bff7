// The PKCS#11 vault: the AES-256 master key is generated inside a token (SoftHSM2, a network HSM)
// and never leaves it; seal/open are C_Encrypt/C_Decrypt with CKM_AES_GCM. Debian's Botan has no
// PKCS#11 module, so this speaks the C API directly and dlopen()s the vendor module.
// Record layout as in record_format.h; see docs/vault.md for setup with SoftHSM2.
#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <p11-kit/pkcs11.h>

#include "vault/record_format.h"
#include "vault/vault.h"

namespace stsvend::vault {
namespace {

// Sessions kept open for reuse; more concurrent callers open extra sessions and close them after.
constexpr std::size_t kMaxIdleSessions = 8;
constexpr CK_ULONG kMasterKeyBytes = 32;
// The key check value: GCM over 16 zero bytes under an all-zero nonce. Records use random 96-bit
// nonces, so they meet this fixed nonce with probability 2^-96; the value identifies the key
// (the key id is its SHA-256 prefix) without the key leaving the token.
constexpr const char* kKeyCheckAad = "stsvend key check value";

std::string rv_hex(CK_RV rv) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "CKR 0x%lx", static_cast<unsigned long>(rv));
  return buf;
}

Status p11_error(std::string_view rule, const char* call, CK_RV rv) {
  return Status::Unavailable(rule).with_detail(std::string(call) + " returned " + rv_hex(rv));
}

// One loaded module per path for the whole process: C_Initialize/C_Finalize are process-wide, so two
// vaults on the same module must share one initialisation.
class Module {
 public:
  Module(void* handle, CK_FUNCTION_LIST* fn, bool finalize) : handle_(handle), fn_(fn), finalize_(finalize) {}
  ~Module() {
    if (finalize_) fn_->C_Finalize(nullptr);
    ::dlclose(handle_);
  }
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  CK_FUNCTION_LIST* fn() const { return fn_; }

  static Result<std::shared_ptr<Module>> load(const std::string& path) {
    static std::mutex mu;
    static std::map<std::string, std::weak_ptr<Module>> loaded;
    const std::lock_guard<std::mutex> lock(mu);
    if (auto existing = loaded[path].lock()) return existing;

    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* err = ::dlerror();
      return Status::FailedPrecondition("module_path", "cannot load the PKCS#11 module")
          .with_detail(err ? err : path);
    }
    auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
    CK_FUNCTION_LIST* fn = nullptr;
    if (get_list == nullptr || get_list(&fn) != CKR_OK || fn == nullptr) {
      ::dlclose(handle);
      return Status::FailedPrecondition("module_path", "not a PKCS#11 module (no C_GetFunctionList)")
          .with_detail(path);
    }
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;  // we call from several threads; let the module use OS locks
    const CK_RV rv = fn->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      ::dlclose(handle);
      return p11_error("cannot initialise the PKCS#11 module", "C_Initialize", rv);
    }
    // Someone else in the process initialised it (another library); leave finalising to them.
    auto module = std::make_shared<Module>(handle, fn, rv == CKR_OK);
    loaded[path] = module;
    return module;
  }

 private:
  void* handle_;
  CK_FUNCTION_LIST* fn_;
  bool finalize_;
};

std::string trim_label(const unsigned char* label, std::size_t n) {
  std::string s(reinterpret_cast<const char*>(label), n);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

// Thread-safety: sessions are handed out one caller at a time from a mutex-guarded pool; object
// handles and the key id are immutable after construction.
class Pkcs11Vault final : public Vault {
 public:
  Pkcs11Vault(std::shared_ptr<Module> module, CK_SLOT_ID slot, CK_SESSION_HANDLE login_session)
      : module_(std::move(module)), fn_(module_->fn()), slot_(slot), login_session_(login_session) {}

  ~Pkcs11Vault() override {
    // No C_Logout: login state is shared by every session of the process on this token, and another
    // vault may still use it; closing our last session ends our part of it.
    for (const CK_SESSION_HANDLE s : idle_) fn_->C_CloseSession(s);
    fn_->C_CloseSession(login_session_);
  }

  // Finds the master key by label, or generates it; then computes the key id.
  Status init_key(const std::string& label) {
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    std::vector<char> label_bytes(label.begin(), label.end());
    CK_ATTRIBUTE find_tmpl[] = {
        {CKA_CLASS, &cls, sizeof cls},
        {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_LABEL, label_bytes.data(), label_bytes.size()},
    };
    CK_RV rv = fn_->C_FindObjectsInit(login_session_, find_tmpl, 3);
    if (rv != CKR_OK) return p11_error("cannot search the token", "C_FindObjectsInit", rv);
    CK_OBJECT_HANDLE found[2];
    CK_ULONG count = 0;
    rv = fn_->C_FindObjects(login_session_, found, 2, &count);
    fn_->C_FindObjectsFinal(login_session_);
    if (rv != CKR_OK) return p11_error("cannot search the token", "C_FindObjects", rv);
    if (count > 1) {
      return Status::FailedPrecondition("key_label", "more than one AES key on the token has this label");
    }
    if (count == 1) {
      key_ = found[0];
      STSVEND_RETURN_IF_ERROR(check_key_protected());
    } else {
      CK_BBOOL yes = CK_TRUE;
      CK_BBOOL no = CK_FALSE;
      CK_ULONG len = kMasterKeyBytes;
      CK_ATTRIBUTE gen_tmpl[] = {
          {CKA_CLASS, &cls, sizeof cls},
          {CKA_KEY_TYPE, &type, sizeof type},
          {CKA_VALUE_LEN, &len, sizeof len},
          {CKA_TOKEN, &yes, sizeof yes},
          {CKA_PRIVATE, &yes, sizeof yes},
          {CKA_SENSITIVE, &yes, sizeof yes},
          {CKA_EXTRACTABLE, &no, sizeof no},
          {CKA_ENCRYPT, &yes, sizeof yes},
          {CKA_DECRYPT, &yes, sizeof yes},
          {CKA_WRAP, &no, sizeof no},
          {CKA_UNWRAP, &no, sizeof no},
          {CKA_LABEL, label_bytes.data(), label_bytes.size()},
      };
      CK_MECHANISM mech{CKM_AES_KEY_GEN, nullptr, 0};
      rv = fn_->C_GenerateKey(login_session_, &mech, gen_tmpl, sizeof gen_tmpl / sizeof gen_tmpl[0], &key_);
      if (rv != CKR_OK) return p11_error("cannot generate the master key in the token", "C_GenerateKey", rv);
    }
    const std::uint8_t zero_nonce[kNonceBytes] = {};
    const std::uint8_t zeros[16] = {};
    const std::string_view kcv_aad(kKeyCheckAad);
    STSVEND_ASSIGN_OR_RETURN(
        const std::vector<std::uint8_t> kcv,
        gcm(true, zero_nonce, std::span(reinterpret_cast<const std::uint8_t*>(kcv_aad.data()), kcv_aad.size()),
            zeros));
    key_id_ = derive_key_id(kcv);
    return Status::Ok();
  }

  Result<std::vector<std::uint8_t>> seal(std::span<const std::uint8_t> plaintext, std::string_view aad) override {
    STSVEND_ASSIGN_OR_RETURN(const auto nonce, fresh_nonce());
    const auto gcm_aad = record_aad(key_id_, aad);
    STSVEND_ASSIGN_OR_RETURN(const std::vector<std::uint8_t> body, gcm(true, nonce, gcm_aad, plaintext));
    return assemble_record(key_id_, nonce, body);
  }

  Result<SecretBytes> open(std::span<const std::uint8_t> sealed, std::string_view aad) override {
    STSVEND_ASSIGN_OR_RETURN(const RecordView record, parse_record(sealed, key_id_));
    const auto gcm_aad = record_aad(key_id_, aad);
    STSVEND_ASSIGN_OR_RETURN(std::vector<std::uint8_t> plain,
                             gcm(false, record.nonce, gcm_aad, record.ciphertext_and_tag));
    SecretBytes out{std::span<const std::uint8_t>(plain)};
    volatile std::uint8_t* p = plain.data();
    for (std::size_t i = 0; i < plain.size(); ++i) p[i] = 0;
    return out;
  }

  std::string backend_name() const override { return "pkcs11"; }

 private:
  // A pooled session, returned to the pool when the lease ends (closed instead if it went bad).
  class Lease {
   public:
    Lease(Pkcs11Vault* owner, CK_SESSION_HANDLE s) : owner_(owner), session_(s) {}
    ~Lease() { owner_->release(session_, healthy_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    CK_SESSION_HANDLE get() const { return session_; }
    void mark_broken() { healthy_ = false; }

   private:
    Pkcs11Vault* owner_;
    CK_SESSION_HANDLE session_;
    bool healthy_ = true;
  };

  Result<CK_SESSION_HANDLE> acquire() {
    {
      const std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        const CK_SESSION_HANDLE s = idle_.back();
        idle_.pop_back();
        return s;
      }
    }
    // Login state is per application and token, so a new session is already logged in.
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    const CK_RV rv = fn_->C_OpenSession(slot_, CKF_SERIAL_SESSION, nullptr, nullptr, &s);
    if (rv != CKR_OK) return p11_error("cannot open a PKCS#11 session", "C_OpenSession", rv);
    return s;
  }

  void release(CK_SESSION_HANDLE s, bool healthy) {
    {
      const std::lock_guard<std::mutex> lock(mu_);
      if (healthy && idle_.size() < kMaxIdleSessions) {
        idle_.push_back(s);
        return;
      }
    }
    fn_->C_CloseSession(s);
  }

  // One-shot AES-GCM inside the token. Encrypt returns ciphertext ‖ tag; decrypt takes it.
  Result<std::vector<std::uint8_t>> gcm(bool encrypt, std::span<const std::uint8_t> nonce,
                                        std::span<const std::uint8_t> aad, std::span<const std::uint8_t> input) {
    if (!encrypt && input.size() < kTagBytes) {
      return Status::Corruption("sealed", "ciphertext is shorter than the GCM tag");
    }
    STSVEND_ASSIGN_OR_RETURN(const CK_SESSION_HANDLE session, acquire());
    Lease lease(this, session);
    // The module only reads through these pointers; PKCS#11 lacks const in its parameter structs.
    CK_GCM_PARAMS params{};
    params.iv_ptr = const_cast<unsigned char*>(nonce.data());
    params.iv_len = nonce.size();
    params.iv_bits = nonce.size() * 8;
    params.aad_ptr = const_cast<unsigned char*>(aad.data());
    params.aad_len = aad.size();
    params.tag_bits = kTagBytes * 8;
    CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof params};
    auto* in = const_cast<unsigned char*>(input.data());

    CK_RV rv = encrypt ? fn_->C_EncryptInit(session, &mech, key_) : fn_->C_DecryptInit(session, &mech, key_);
    if (rv != CKR_OK) {
      lease.mark_broken();
      return p11_error("the token refused AES-GCM", encrypt ? "C_EncryptInit" : "C_DecryptInit", rv);
    }
    std::vector<std::uint8_t> out(encrypt ? input.size() + kTagBytes : input.size());
    CK_ULONG out_len = out.size();
    rv = encrypt ? fn_->C_Encrypt(session, in, input.size(), out.data(), &out_len)
                 : fn_->C_Decrypt(session, in, input.size(), out.data(), &out_len);
    if (rv == CKR_BUFFER_TOO_SMALL) {
      // The operation stays active after BUFFER_TOO_SMALL (PKCS#11 §5.2); retry with the size asked for.
      out.resize(out_len);
      rv = encrypt ? fn_->C_Encrypt(session, in, input.size(), out.data(), &out_len)
                   : fn_->C_Decrypt(session, in, input.size(), out.data(), &out_len);
    }
    if (rv != CKR_OK) {
      // A wrong tag is reported differently by different modules (SoftHSM2: CKR_GENERAL_ERROR); the
      // record header has already been checked, so treat them all as a failed authentication.
      if (!encrypt && (rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE ||
                       rv == CKR_GENERAL_ERROR || rv == CKR_FUNCTION_FAILED)) {
        return Status::Corruption("sealed", "authentication failed (wrong key, wrong aad, or tampered)")
            .with_detail("C_Decrypt returned " + rv_hex(rv));
      }
      lease.mark_broken();
      return p11_error("AES-GCM in the token failed", encrypt ? "C_Encrypt" : "C_Decrypt", rv);
    }
    out.resize(out_len);
    return out;
  }

  Status check_key_protected() {
    CK_BBOOL sensitive = CK_FALSE;
    CK_BBOOL extractable = CK_TRUE;
    CK_ATTRIBUTE attrs[] = {
        {CKA_SENSITIVE, &sensitive, sizeof sensitive},
        {CKA_EXTRACTABLE, &extractable, sizeof extractable},
    };
    const CK_RV rv = fn_->C_GetAttributeValue(login_session_, key_, attrs, 2);
    if (rv != CKR_OK) return p11_error("cannot read the master key's attributes", "C_GetAttributeValue", rv);
    if (sensitive != CK_TRUE || extractable != CK_FALSE) {
      return Status::FailedPrecondition("key_label", "master key must be sensitive and non-extractable");
    }
    return Status::Ok();
  }

  std::shared_ptr<Module> module_;
  CK_FUNCTION_LIST* fn_;
  CK_SLOT_ID slot_;
  CK_SESSION_HANDLE login_session_;  // held open for the vault's lifetime to keep the login alive
  CK_OBJECT_HANDLE key_ = CK_INVALID_HANDLE;
  KeyId key_id_{};
  std::mutex mu_;
  std::vector<CK_SESSION_HANDLE> idle_;  // guarded by mu_
};

Result<CK_SLOT_ID> find_token(CK_FUNCTION_LIST* fn, const std::string& label) {
  CK_ULONG count = 0;
  CK_RV rv = fn->C_GetSlotList(CK_TRUE, nullptr, &count);
  if (rv != CKR_OK) return p11_error("cannot list PKCS#11 slots", "C_GetSlotList", rv);
  std::vector<CK_SLOT_ID> slots(count);
  if (count > 0) {
    rv = fn->C_GetSlotList(CK_TRUE, slots.data(), &count);
    if (rv != CKR_OK) return p11_error("cannot list PKCS#11 slots", "C_GetSlotList", rv);
    slots.resize(count);
  }
  for (const CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    if (fn->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    if (trim_label(info.label, sizeof info.label) == label) return slot;
  }
  return Status::NotFound("token_label", "no PKCS#11 token with this label");
}

}  // namespace

Result<std::unique_ptr<Vault>> open_pkcs11_vault(const Pkcs11Options& options) {
  if (options.module_path.empty()) return Status::InvalidArgument("module_path", "must not be empty");
  if (options.token_label.empty() || options.token_label.size() > 32) {
    return Status::InvalidArgument("token_label", "must be 1 to 32 characters");
  }
  if (options.key_label.empty()) return Status::InvalidArgument("key_label", "must not be empty");
  STSVEND_ASSIGN_OR_RETURN(std::shared_ptr<Module> module, Module::load(options.module_path));
  CK_FUNCTION_LIST* fn = module->fn();
  STSVEND_ASSIGN_OR_RETURN(const CK_SLOT_ID slot, find_token(fn, options.token_label));

  CK_SESSION_HANDLE login = CK_INVALID_HANDLE;
  CK_RV rv = fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &login);
  if (rv != CKR_OK) return p11_error("cannot open a PKCS#11 session", "C_OpenSession", rv);
  std::vector<unsigned char> pin(options.pin.begin(), options.pin.end());
  rv = fn->C_Login(login, CKU_USER, pin.data(), pin.size());
  volatile unsigned char* wipe = pin.data();
  for (std::size_t i = 0; i < pin.size(); ++i) wipe[i] = 0;
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
    fn->C_CloseSession(login);
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_LOCKED) {
      return Status::Unauthenticated("the PKCS#11 token rejected the PIN").with_detail("C_Login returned " + rv_hex(rv));
    }
    return p11_error("cannot log in to the PKCS#11 token", "C_Login", rv);
  }
  auto vault = std::make_unique<Pkcs11Vault>(std::move(module), slot, login);
  STSVEND_RETURN_IF_ERROR(vault->init_key(options.key_label));
  return std::unique_ptr<Vault>(std::move(vault));
}

}  // namespace stsvend::vault
