// Names and codes of the engine's enumerations (see types.h).
#include "stsvend/sts/types.h"

namespace stsvend::sts {

std::optional<EncryptionAlgorithm> parse_encryption_algorithm(std::string_view s) noexcept {
  if (s == "sta" || s == "STA" || s == "07") return EncryptionAlgorithm::kSta;
  if (s == "dea" || s == "DEA" || s == "09") return EncryptionAlgorithm::kDea;
  if (s == "misty" || s == "misty1" || s == "MISTY" || s == "MISTY1" || s == "11") return EncryptionAlgorithm::kMisty1;
  return std::nullopt;
}

std::string_view encryption_algorithm_name(EncryptionAlgorithm ea) noexcept {
  switch (ea) {
    case EncryptionAlgorithm::kSta: return "sta";
    case EncryptionAlgorithm::kDea: return "dea";
    case EncryptionAlgorithm::kMisty1: return "misty";
  }
  return "";
}

std::optional<Dkga> parse_dkga(std::string_view s) noexcept {
  if (s == "01" || s == "1") return Dkga::k01;
  if (s == "02" || s == "2") return Dkga::k02;
  if (s == "03" || s == "3") return Dkga::k03;
  if (s == "04" || s == "4") return Dkga::k04;
  return std::nullopt;
}

std::string_view dkga_name(Dkga d) noexcept {
  switch (d) {
    case Dkga::k01: return "01";
    case Dkga::k02: return "02";
    case Dkga::k03: return "03";
    case Dkga::k04: return "04";
  }
  return "";
}

std::optional<BaseDate> base_date_from_year(int year) noexcept {
  switch (year) {
    case 1993: return BaseDate::k1993;
    case 2014: return BaseDate::k2014;
    case 2035: return BaseDate::k2035;
    default: return std::nullopt;
  }
}

std::int64_t base_date_unix_seconds(BaseDate bd) noexcept {
  switch (bd) {
    case BaseDate::k1993: return 725846400;   // 1993-01-01T00:00:00Z
    case BaseDate::k2014: return 1388534400;  // 2014-01-01T00:00:00Z
    case BaseDate::k2035: return 2051222400;  // 2035-01-01T00:00:00Z
  }
  return 0;
}

std::string_view token_type_name(unsigned token_class, unsigned subclass) noexcept {
  switch (token_class) {
    case 0:
      switch (subclass) {
        case 0: return "Electricity_00";
        case 1: return "Water_01";
        case 2: return "Gas_02";
        case 3: return "Time_03";
        case 4: return "ElectricityCurrency_04";
        case 5: return "WaterCurrency_05";
        case 6: return "GasCurrency_06";
        case 7: return "TimeCurrency_07";
        default: return "";
      }
    case 1:
      switch (subclass) {
        case 0: return "InitiateMeterTestOrDisplay1_10";
        // Sic: the Nectar services print "Display1" for subclass 1 too; clients match on it.
        case 1: return "InitiateMeterTestOrDisplay1_11";
        default: return "";
      }
    case 2:
      switch (subclass) {
        case 0: return "SetMaximumPowerLimit_20";
        case 1: return "ClearCredit_21";
        case 2: return "SetTariffRate_22";
        case 3: return "Set1stSectionDecoderKey_23";
        case 4: return "Set2ndSectionDecoderKey_24";
        case 5: return "ClearTamperCondition_25";
        case 6: return "SetMaximumPhasePowerUnbalanceLimit_26";
        case 7: return "SetWaterMeterFactor_27";
        case 8: return "Set3rdSectionDecoderKey_28";
        case 9: return "Set4thSectionDecoderKey_29";
        default: return "";
      }
    default: return "";
  }
}

bool carries_tid(unsigned token_class, unsigned subclass) noexcept {
  if (token_class == 0) return subclass <= 7;
  if (token_class == 2) return subclass <= 2 || (subclass >= 5 && subclass <= 7);
  return false;
}

}  // namespace stsvend::sts
