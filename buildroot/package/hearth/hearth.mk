################################################################################
#
# hearth
#
################################################################################

HEARTH_VERSION = 0.1.0
# The package builds the Hearth checkout this BR2_EXTERNAL tree lives in.
HEARTH_SITE = $(BR2_EXTERNAL_HEARTH_PATH)/..
HEARTH_SITE_METHOD = local
# No LICENSE file in the repository yet: HEARTH_LICENSE is left unset
# (legal-info reports it as unknown) until the project picks one.
# third_party/anacrolix-torrent is MPL-2.0.
HEARTH_GOMOD = github.com/hearth-media/hearth
HEARTH_BUILD_TARGETS = cmd/hearth
HEARTH_LDFLAGS = -s -w -X main.version=$(HEARTH_VERSION) -X main.commit=buildroot
HEARTH_TAGS = netgo osusergo
# A static binary without cgo, as on every device build (scripts/build.sh).
HEARTH_GO_ENV = CGO_ENABLED=0

define HEARTH_USERS
	hearth -1 hearth -1 * $(call qstrip,$(BR2_PACKAGE_HEARTH_DATA_DIR)) - - Hearth BitTorrent daemon
endef

# A local source is copied, not downloaded, so the golang infrastructure
# does not vendor its modules. Vendor them here unless the checkout has a
# vendor/ folder already (go mod vendor in a copy of the checkout makes an
# offline build possible); GOPROXY is Go's default proxy otherwise.
HEARTH_GOPROXY = $(if $(GOPROXY),$(GOPROXY),https://proxy.golang.org)

define HEARTH_VENDOR_MODULES
	if [ ! -d $(@D)/vendor ]; then \
		cd $(@D) && $(HOST_GO_COMMON_ENV) GOFLAGS=-mod=mod \
			GOPROXY=$(HEARTH_GOPROXY) $(GO_BIN) mod vendor; \
	fi
endef
HEARTH_POST_RSYNC_HOOKS += HEARTH_VENDOR_MODULES

define HEARTH_INSTALL_CONFIG
	$(INSTALL) -D -m 0644 $(HEARTH_PKGDIR)/hearth.conf \
		$(TARGET_DIR)/etc/hearth/hearth.conf
	$(SED) 's|^profile = .*|profile = $(call qstrip,$(BR2_PACKAGE_HEARTH_PROFILE))|' \
		-e 's|^data_dir = .*|data_dir = $(call qstrip,$(BR2_PACKAGE_HEARTH_DATA_DIR))|' \
		$(TARGET_DIR)/etc/hearth/hearth.conf
endef
HEARTH_POST_INSTALL_TARGET_HOOKS += HEARTH_INSTALL_CONFIG

define HEARTH_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(HEARTH_PKGDIR)/S99hearth \
		$(TARGET_DIR)/etc/init.d/S99hearth
endef

$(eval $(golang-package))
