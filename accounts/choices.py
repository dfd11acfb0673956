"""The vendor's code tables for accounts (seed integer codes, with labels)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AccountType(models.IntegerChoices):
    PERSONAL = 1, _("Personal")
    BUSINESS = 2, _("Business")


class AccountStatus(models.IntegerChoices):
    NORMAL = 1, _("Normal")
    BANNED = 2, _("Banned")


class OnlineStatus(models.IntegerChoices):
    """queryWhatsAppStatus / syncWhatsAppStatus `onlineStatus`."""

    LOGGING_IN = 1, _("Logging in")
    ONLINE = 2, _("Online")
    LOGGING_OUT = 3, _("Logging out")
    OFFLINE = 4, _("Offline")


class Presence(models.IntegerChoices):
    """onlineStatus webhook / status log `status` (undocumented values are kept as-is)."""

    ONLINE = 10, _("Online")
    DISCONNECTED = 20, _("Disconnected")
    OFFLINE = 30, _("Offline")
    BANNED = 40, _("Banned")


class DetailStatus(models.IntegerChoices):
    """The 15 behaviour codes of queryUserStatusLog (a superset of the webhook's 7)."""

    PC_QR_LOGIN = 11, _("PC QR code login")
    PC_ONLINE = 12, _("PC online")
    MOBILE_ONLINE = 13, _("Mobile online")
    PC_DISCONNECTED = 21, _("PC disconnected")
    MOBILE_DISCONNECTED = 22, _("Mobile disconnected")
    PC_CLOSED_ACCOUNT = 31, _("PC closed customer service account offline")
    PC_CLOSED_CLIENT = 32, _("PC closed client offline")
    PC_MONITOR_OFFLINE = 33, _("PC triggered monitoring offline")
    MOBILE_DELETED = 34, _("Mobile deleted offline")
    MOBILE_EXITED = 35, _("Mobile actively exited offline")
    MOBILE_MONITOR_OFFLINE = 36, _("Mobile triggered monitoring offline")
    MOBILE_ABNORMAL = 37, _("Mobile abnormal offline")
    PC_BANNED = 41, _("PC banned")
    MOBILE_BANNED = 42, _("Mobile banned")
    PERMANENTLY_BANNED = 43, _("System marked as permanently banned")


class Platform(models.IntegerChoices):
    PC = 1, _("PC")
    ANDROID = 2, _("Android")


class Source(models.IntegerChoices):
    PC = 1, _("PC")
    MOBILE = 2, _("Mobile")
    CLOUD = 3, _("Cloud computer")


class VerifyType(models.IntegerChoices):
    SMS = 0, _("SMS")
    VOICE = 1, _("Voice call")
    MISSED_CALL = 2, _("Missed call")
    INTERNAL = 3, _("Internal code")


class SyncReason(models.TextChoices):
    """syncWhatsAppStatus `reason` codes (not the QR error table, which shares numbers)."""

    PAIRING_FAILED = "1001", _("Pairing failed: scan the QR code again")
    NETWORK_ERROR = "1002", _("Network error: change the IP (proxy)")
    PAIR_CODE_TOO_OFTEN = "1003", _("Pair code requested too often: wait before trying again")
    LOGGED_OUT = "1004", _("Logged out")
