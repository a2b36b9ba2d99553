/* SPDX-License-Identifier: MIT */
/*
 * sysfs access. apir0 has no sysfs directory: its ibdev_path is virtual and
 * the files tools read there (ibv_devinfo reads board_id) are answered from
 * the device attributes apird reports. Any other path is a real file.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

#define BOARD_ID "APIR_SW"

static char sysfs_root[256] = "/sys";
static pthread_once_t sysfs_root_once = PTHREAD_ONCE_INIT;

/* SYSFS_PATH overrides /sys, without trailing slashes (as in rdma-core). */
static void sysfs_root_init(void)
{
	const char *env = getenv("SYSFS_PATH");
	size_t len;

	if (!env || !*env || strlen(env) >= sizeof(sysfs_root))
		return;
	strcpy(sysfs_root, env);
	len = strlen(sysfs_root);
	while (len > 1 && sysfs_root[len - 1] == '/')
		sysfs_root[--len] = '\0';
}

APIR_EXPORT const char *ibv_get_sysfs_path(void)
{
	pthread_once(&sysfs_root_once, sysfs_root_init);
	return sysfs_root;
}

static void format_guid(char *out, size_t size, __be64 be)
{
	uint64_t g = be64toh(be);

	snprintf(out, size, "%04x:%04x:%04x:%04x\n", (unsigned int)(g >> 48) & 0xffff,
		 (unsigned int)(g >> 32) & 0xffff, (unsigned int)(g >> 16) & 0xffff,
		 (unsigned int)g & 0xffff);
}

/* Content of a file of the virtual ibdev_path, with sysfs's trailing
 * newline. Returns its length, or -1 with errno (ENOENT: not provided). */
static int virtual_file(const char *file, char *buf, size_t size)
{
	struct ibv_device_attr attr;
	char text[128];
	struct ibv_device **list = ibv_get_device_list(NULL);
	int rc = list && list[0] ? apir_device_attr(list[0], &attr) : ENODEV;

	ibv_free_device_list(list);
	if (rc) {
		errno = rc;
		return -1;
	}
	if (strcmp(file, "node_guid") == 0)
		format_guid(text, sizeof(text), attr.node_guid);
	else if (strcmp(file, "sys_image_guid") == 0)
		format_guid(text, sizeof(text), attr.sys_image_guid);
	else if (strcmp(file, "fw_ver") == 0)
		snprintf(text, sizeof(text), "%.64s\n", attr.fw_ver);
	else if (strcmp(file, "hw_rev") == 0)
		snprintf(text, sizeof(text), "0x%x\n", attr.hw_ver);
	else if (strcmp(file, "board_id") == 0)
		snprintf(text, sizeof(text), "%s\n", BOARD_ID);
	else if (strcmp(file, "node_type") == 0)
		snprintf(text, sizeof(text), "1: CA\n");
	else if (strcmp(file, "node_desc") == 0)
		snprintf(text, sizeof(text), "%s\n", APIR_DEVICE_NAME);
	else {
		errno = ENOENT;
		return -1;
	}
	rc = (int)strlen(text);
	if ((size_t)rc > size)
		rc = (int)size;
	memcpy(buf, text, (size_t)rc);
	return rc;
}

static bool is_virtual_dir(const char *dir)
{
	size_t n = strlen(APIR_IBDEV_PATH);

	if (strncmp(dir, APIR_IBDEV_PATH, n) != 0)
		return false;
	while (dir[n] == '/')
		n++;
	return dir[n] == '\0';
}

static int read_real_file(const char *dir, const char *file, char *buf, size_t size)
{
	char *path;
	ssize_t len;
	int fd, err;

	if (asprintf(&path, "%s/%s", dir, file) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return -1;
	len = read(fd, buf, size);
	err = errno;
	close(fd);
	errno = err;
	return (int)len;
}

/* Reads a sysfs file into buf as a string without its trailing newline.
 * Returns its length, or -1 (also when it does not fit with its NUL). */
APIR_EXPORT int ibv_read_sysfs_file(const char *dir, const char *file, char *buf, size_t size)
{
	int len = is_virtual_dir(dir) ? virtual_file(file, buf, size) :
					read_real_file(dir, file, buf, size);

	if (len <= 0)
		return len;
	if (buf[len - 1] == '\n')
		buf[--len] = '\0';
	else if ((size_t)len < size)
		buf[len] = '\0';
	else
		return -1;
	return len;
}
