/* SPDX-License-Identifier: MIT */
/*
 * Areas apird writes in a guest (the session page, rings), in files of the
 * guest's tmpfs. A dying process's memory is freed before its files are
 * closed, so before the port closes and long before apird hears of it
 * (docs/VM.md): anonymous pages apird still writes (engine_sleeping,
 * completions) could by then belong to another process of the guest. A
 * tmpfs file keeps its pages until it is removed, and a file is removed
 * only by its process (when apird is done with the area) or, after a
 * process died, by the next process whose Hello apird took.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "apir/log.h"
#include "guest_mem.h"

#define AREA_DIR "/dev/shm"
#define AREA_PREFIX "apir-area."
#define AREA_NAME_MAX 64

/* This process's area files, by address. */
struct area_file {
	void *base;
	char name[AREA_NAME_MAX];
	struct area_file *next;
};

static pthread_mutex_t areas_lock = PTHREAD_MUTEX_INITIALIZER;
static struct area_file *areas;

/* "apir-area.<pid>.<random>": the pid tells whose it is; the random part
 * keeps a reused pid from meeting a dead process's file. */
static void area_name(char *name, size_t cap)
{
	unsigned long long token;

	if (getrandom(&token, sizeof(token), 0) != sizeof(token))
		token = (unsigned long long)(uintptr_t)name ^ (unsigned long long)rand();
	snprintf(name, cap, AREA_DIR "/" AREA_PREFIX "%d.%016llx", (int)getpid(), token);
}

/* A shared mapping of a new file of len bytes; NULL with errno set. */
static void *map_area_file(size_t len, char *name, size_t cap)
{
	void *p = MAP_FAILED;
	int fd, err;

	area_name(name, cap);
	fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, (off_t)len) == 0)
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	err = errno;
	close(fd);
	if (p != MAP_FAILED)
		return p;
	unlink(name);
	errno = err;
	return NULL;
}

static void *map_anonymous(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Remembers base's file; on failure the file goes at once. */
static int remember(void *base, const char *name)
{
	struct area_file *a = malloc(sizeof(*a));

	if (!a)
		return ENOMEM;
	a->base = base;
	snprintf(a->name, sizeof(a->name), "%s", name);
	pthread_mutex_lock(&areas_lock);
	a->next = areas;
	areas = a;
	pthread_mutex_unlock(&areas_lock);
	return 0;
}

void *apir_guest_area_alloc(size_t len)
{
	static bool warned;
	char name[AREA_NAME_MAX] = "";
	void *p = map_area_file(len, name, sizeof(name));
	int err;

	if (!p && !warned) {
		warned = true;
		apir_warn("no area file in " AREA_DIR " (%s): rings use process memory, which a "
			  "dead process hands back while apird may still write it", strerror(errno));
	}
	if (!p) {
		name[0] = '\0';
		p = map_anonymous(len);
	}
	if (!p)
		return NULL;
	err = apir_lock_pages(p, len) ? errno : name[0] ? remember(p, name) : 0;
	if (!err)
		return p;
	munmap(p, len);
	if (name[0])
		unlink(name);
	errno = err;
	return NULL;
}

void apir_guest_area_free(void *base, size_t len)
{
	struct area_file **pp, *a = NULL;

	if (!base)
		return;
	pthread_mutex_lock(&areas_lock);
	for (pp = &areas; *pp; pp = &(*pp)->next)
		if ((*pp)->base == base) {
			a = *pp;
			*pp = a->next;
			break;
		}
	pthread_mutex_unlock(&areas_lock);
	munmap(base, len);
	if (a)
		unlink(a->name);
	free(a);
}

void apir_guest_area_reap(void)
{
	char prefix[AREA_NAME_MAX], path[AREA_NAME_MAX + 256];
	DIR *dir = opendir(AREA_DIR);
	struct dirent *e;

	if (!dir)
		return;
	snprintf(prefix, sizeof(prefix), AREA_PREFIX "%d.", (int)getpid());
	while ((e = readdir(dir))) {
		if (strncmp(e->d_name, AREA_PREFIX, strlen(AREA_PREFIX)) ||
		    !strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(path, sizeof(path), AREA_DIR "/%s", e->d_name);
		if (unlink(path) == 0)
			apir_dbg("removed %s, left by a process that died", path);
	}
	closedir(dir);
}
